"""The installed ``stashkit`` console script, run as a real subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib.metadata import entry_points, version
from pathlib import Path

import pytest

from stashkit import __version__


@pytest.fixture
def stashkit_exe() -> str:
    exe = shutil.which("stashkit")
    assert exe is not None, "the 'stashkit' console script is not on PATH (is the venv active?)"
    return exe


def run(exe: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [exe, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_console_script_is_registered() -> None:
    assert version("stashkit") == __version__
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts["stashkit"] == "stashkit.cli:main"


def test_version_via_executable(stashkit_exe: str) -> None:
    proc = run(stashkit_exe, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"stashkit {__version__}"


def test_put_and_list_via_executable(stashkit_exe: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"home: {tmp_path / 'stash'}\ntimezone: America/New_York\nlevel: 9\n", encoding="utf-8"
    )
    source = tmp_path / "notes.txt"
    source.write_text("hello from a subprocess\n" * 10, encoding="utf-8")
    env = {"STASHKIT_CONFIG": str(config)}

    put = run(stashkit_exe, "put", str(source), "--tag", "docs", env=env)
    assert put.returncode == 0, put.stderr
    assert put.stdout.startswith("stored notes.txt ")

    listing = run(stashkit_exe, "list", "--tag", "docs", env=env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:3] == ["name", "size", "stored"]
    assert lines[2].split()[0] == "notes.txt"
    assert lines[2].split()[-1] == "docs"
    assert (tmp_path / "stash" / "stash.db").is_file()


def test_error_exit_status_via_executable(stashkit_exe: str, tmp_path: Path) -> None:
    proc = run(stashkit_exe, "get", "missing", env={"STASHKIT_HOME": str(tmp_path / "none")})
    assert proc.returncode == 1
    assert proc.stderr.startswith("stashkit: error: no stash at")
