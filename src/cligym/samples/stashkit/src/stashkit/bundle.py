"""Bundles: plain tar archives created and read with the system ``tar`` tool."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from stashkit.errors import BundleError, ToolNotFoundError

TAR_TIMEOUT = 60


def find_tar() -> str:
    """Absolute path of the ``tar`` executable on ``PATH``."""
    tar = shutil.which("tar")
    if tar is None:
        raise ToolNotFoundError(
            "the 'tar' program is required for bundles but was not found on PATH "
            f"({os.environ.get('PATH', '')!r})"
        )
    return tar


def _run_tar(args: Sequence[str], action: str) -> str:
    cmd = [find_tar(), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TAR_TIMEOUT, check=False)
    except OSError as exc:
        raise BundleError(f"cannot run {cmd[0]}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise BundleError(f"tar timed out while trying to {action}") from exc
    if proc.returncode != 0:
        detail = proc.stderr.strip() or f"exit status {proc.returncode}"
        raise BundleError(f"tar failed to {action}: {detail}")
    return proc.stdout


def check_member_name(name: str) -> str:
    """Reject member names that could escape the extraction directory."""
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or "\0" in name:
        raise BundleError(f"unsafe bundle member name {name!r}")
    return name


def create_bundle(dest: Path, members: Mapping[str, bytes]) -> Path:
    """Create a tar archive at *dest* containing *members* (name -> content)."""
    if not members:
        raise BundleError("refusing to create an empty bundle")
    names = sorted(check_member_name(n) for n in members)
    dest = Path(dest).resolve()
    with tempfile.TemporaryDirectory(prefix="stashkit-bundle-") as staging:
        for name in names:
            target = Path(staging, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(members[name])
        _run_tar(["-cf", str(dest), "-C", staging, "--", *names], f"create {dest}")
    return dest


def list_bundle(path: Path) -> list[str]:
    """Names of the regular members of the bundle at *path*."""
    out = _run_tar(["-tf", str(path)], f"list {path}")
    return [line for line in out.splitlines() if line and not line.endswith("/")]


def extract_bundle(path: Path, dest: Path) -> list[str]:
    """Extract the bundle at *path* into directory *dest*; return member names."""
    members = list_bundle(path)
    for name in members:
        check_member_name(name)
    Path(dest).mkdir(parents=True, exist_ok=True)
    _run_tar(["-xf", str(path), "-C", str(dest)], f"extract {path}")
    return members
