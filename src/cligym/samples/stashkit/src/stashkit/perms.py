"""File-system helpers that keep the stash private to its owner."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from stashkit.errors import ReadOnlyStashError, StashPermissionError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def mode_of(path: Path) -> int:
    """Return the permission bits of *path* (without the file-type bits)."""
    return stat.S_IMODE(os.stat(path).st_mode)


def is_private(path: Path) -> bool:
    """True if neither group nor others have any access to *path*."""
    return mode_of(path) & 0o077 == 0


def ensure_private_dir(path: Path) -> Path:
    """Create *path* (and parents) and make sure it is mode 0700.

    An existing directory with looser permissions is tightened, because a
    stash may contain credentials or unreleased builds.
    """
    path = Path(path)
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        if mode_of(path) != PRIVATE_DIR_MODE:
            os.chmod(path, PRIVATE_DIR_MODE)
    except PermissionError as exc:
        raise StashPermissionError(
            f"cannot create private directory {path}: permission denied"
        ) from exc
    if not path.is_dir():
        raise StashPermissionError(f"{path} exists but is not a directory")
    return path


def check_writable(path: Path) -> None:
    """Raise :class:`ReadOnlyStashError` unless the current user may modify *path*."""
    if not os.access(path, os.W_OK | os.X_OK):
        raise ReadOnlyStashError(
            f"stash directory {path} is read-only for uid {os.geteuid()}; check its permissions"
        )


def write_private_file(path: Path, data: bytes) -> Path:
    """Atomically write *data* to *path* with mode 0600.

    The data goes to a temporary file in the same directory which is then
    renamed over the target, so readers never see a partial file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except PermissionError as exc:
        raise ReadOnlyStashError(f"cannot write {path}: permission denied") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), PRIVATE_FILE_MODE)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return path


def read_private_file(path: Path) -> bytes:
    """Read *path*, translating permission problems into stashkit errors."""
    try:
        return Path(path).read_bytes()
    except PermissionError as exc:
        raise StashPermissionError(f"permission denied reading {path}") from exc
