"""Content-type detection for stored blobs, delegated to the system `file` tool (libmagic)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from stashkit.errors import ToolNotFoundError


def mime_type(path: Path) -> str:
    """MIME type of *path* as `file --brief --mime-type` reports it."""
    exe = shutil.which("file")
    if exe is None:
        raise ToolNotFoundError("the 'file' program is required to detect content types")
    proc = subprocess.run([exe, "--brief", "--mime-type", str(path)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise ToolNotFoundError(f"file failed on {path}: {proc.stderr.strip()}")
    return proc.stdout.strip()
