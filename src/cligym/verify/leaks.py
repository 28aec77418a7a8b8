"""Leak audit: nothing in a broken image may reveal the fix (pure functions over `docker diff`).

Looks at what the fault steps added or changed relative to the gold image: backups and copies of
removed files, shell history, package caches, logs, leftovers in temporary directories, and
modified files whose mtime is newer than the gold image (a `find -newer` away from the answer).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

BACKUP_PATTERNS = (
    "*.bak",
    "*.orig",
    "*.old",
    "*.save",
    "*~",
    "*.dpkg-old",
    "*.dpkg-dist",
    "*.swp",
    "*.rej",
    "*.backup",
)
HISTORY_FILES = {
    ".bash_history",
    ".python_history",
    ".sh_history",
    ".zsh_history",
    ".lesshst",
    ".viminfo",
    ".wget-hsts",
    ".sqlite_history",
    ".psql_history",
}
CACHE_PREFIXES = ("/var/cache/apt/", "/var/lib/apt/lists/", "/var/cache/debconf/", "/tmp/pip-")
LOG_PREFIXES = ("/var/log/",)
LEFTOVER_PREFIXES = ("/tmp/", "/var/tmp/", "/root/", "/dev/shm/")


@dataclass(frozen=True)
class PathStat:
    """What `stat` says about a path in the broken container."""

    kind: str  # "regular file", "directory", "symbolic link", ...
    mtime: int
    size: int


@dataclass(frozen=True)
class Leak:
    path: str
    reason: str


def audit_leaks(
    diff: Iterable[tuple[str, str]],
    stats: Mapping[str, PathStat],
    gold_created: int,
    allowed: Iterable[str] = (),
) -> list[Leak]:
    """Every leak in a diff of (kind, path) with A added, C changed, D deleted.

    `allowed` are paths the fault itself consists of (e.g. the shim it installs) that would
    otherwise match a generic pattern such as a file under /home; they too must not be newer
    than gold.
    """
    entries = list(diff)
    allow = set(allowed)
    deleted_names = {os.path.basename(p) for k, p in entries if k == "D"}
    deleted = {p for k, p in entries if k == "D"}
    leaks: list[Leak] = []
    for kind, path in entries:
        if kind == "D":
            continue
        stat = stats.get(path)
        is_file = stat is not None and stat.kind.startswith("regular")
        exempt = path in allow or any(path.startswith(a + "/") for a in allow)
        reason = None
        if not exempt:
            reason = _reason(kind, path, stat, is_file, gold_created, deleted_names, deleted)
        fresh = stat is not None and stat.mtime > gold_created
        if reason is None and kind == "A" and is_file and fresh:
            reason = "added file has a new mtime"  # `find / -newer` would list the answer
        if reason is not None:
            leaks.append(Leak(path, reason))
    return leaks


def _reason(
    kind: str,
    path: str,
    stat: PathStat | None,
    is_file: bool,
    gold_created: int,
    deleted_names: set[str],
    deleted: set[str],
) -> str | None:
    """Why an added or changed path gives the fix away, if it does."""
    name = os.path.basename(path)
    if any(fnmatch.fnmatch(name, pattern) for pattern in BACKUP_PATTERNS):
        return "backup file"
    if name in HISTORY_FILES:
        return "shell history"
    if is_file and ("/.cache/" in path or path.startswith(CACHE_PREFIXES)):
        return "package cache"
    if path.startswith(LOG_PREFIXES) and is_file:
        return "log written by the fault"
    if kind == "A" and is_file and name in deleted_names and path not in deleted:
        return "copy of a removed file"
    if kind == "A" and is_file and path.startswith(LEFTOVER_PREFIXES):
        return "leftover file"
    if kind == "C" and is_file and stat is not None and stat.mtime > gold_created:
        return "modified file has a new mtime"
    return None


def stat_rows(text: str, fields: int) -> list[tuple[str, ...]]:
    """Rows of `stat -c '%n|...'` output with `fields` fields; the path (first) may contain
    `|`; blank and malformed lines are skipped."""
    rows = []
    for line in text.splitlines():
        parts = line.rsplit("|", fields - 1)
        if len(parts) == fields and parts[0]:
            rows.append(tuple(parts))
    return rows


def parse_stat_lines(text: str) -> dict[str, PathStat]:
    """Parse `stat -c '%n|%F|%Y|%s'` output."""
    out: dict[str, PathStat] = {}
    for path, kind, mtime, size in stat_rows(text, 4):
        try:
            out[path] = PathStat(kind, int(mtime), int(size))
        except ValueError:
            continue
    return out
