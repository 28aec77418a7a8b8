"""Tar streams as runtimes exchange them: what `read_path` and `run(collect=...)` return.

Pure helpers, so stage code can read collected files without importing the Docker adapter.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path


def read_file_from_tar(data: bytes, name: str | None = None) -> bytes | None:
    """A regular file in a tar stream from `get_archive`: the first one, or the one whose
    base name is `name`."""
    if not data:
        return None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            if member.isfile() and (name is None or Path(member.name).name == name):
                handle = tar.extractfile(member)
                return handle.read() if handle else None
    return None


def render_tar(files: Mapping[str, str | bytes]) -> bytes:
    """A tar stream holding `files` (member path -> content), as `get_archive` would return."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in sorted(files.items()):
            body = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name.lstrip("/"))
            info.size, info.mode = len(body), 0o644
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()
