"""A lock file in the working directory, so two stashkit runs in one project do not collide."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".stashkit.lock"


@contextmanager
def project_lock(directory: Path | None = None) -> Iterator[Path]:
    """Hold `<directory>/.stashkit.lock` (the current directory by default)."""
    path = (directory or Path.cwd()) / LOCK_NAME
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        os.write(fd, str(os.getpid()).encode())
        yield path
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
