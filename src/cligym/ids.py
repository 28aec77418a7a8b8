"""Content hashes that identify records (same inputs, same id: stages resume by id)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from typing import Any


def content_id(*parts: Any, length: int = 16) -> str:
    """Stable short hash of JSON-serialisable parts (order matters, dict key order does not)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def new_run_id() -> str:
    """Id of one process's run: time, pid (so `gc` can tell live runs) and a random suffix."""
    return f"{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{secrets.token_hex(2)}"


def run_id_pid(run_id: str) -> int | None:
    """The pid encoded in a run id, or None if the id is not one of ours."""
    parts = run_id.split("-")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1])
