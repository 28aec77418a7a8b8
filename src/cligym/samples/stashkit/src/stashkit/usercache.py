"""A small per-user cache of recently used stashes, kept in the user's home directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

CACHE_NAME = ".stashkit-recent.json"
MAX_ENTRIES = 10


def cache_path(home: Path | None = None) -> Path:
    return (home or Path(os.path.expanduser("~"))) / CACHE_NAME


def remember(stash: Path, home: Path | None = None) -> list[str]:
    """Record *stash* as most recently used; returns the updated list."""
    path = cache_path(home)
    try:
        recent = json.loads(path.read_text()) if path.exists() else []
    except (OSError, ValueError):
        recent = []
    entry = str(stash)
    recent = [entry, *[r for r in recent if r != entry]][:MAX_ENTRIES]
    path.write_text(json.dumps(recent))
    return recent


def forget_all(home: Path | None = None) -> None:
    cache_path(home).unlink(missing_ok=True)
