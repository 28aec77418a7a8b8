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
    otherwise match a generic pattern such as a file under /home.
    """
    entries = list(diff)
    allow = set(allowed)
    deleted_names = {os.path.basename(p) for k, p in entries if k == "D"}
    deleted = {p for k, p in entries if k == "D"}
    leaks: list[Leak] = []
    for kind, path in entries:
        if kind == "D" or path in allow or any(path.startswith(a + "/") for a in allow):
            continue
        stat = stats.get(path)
        is_file = stat is not None and stat.kind.startswith("regular")
        name = os.path.basename(path)
        if any(fnmatch.fnmatch(name, pattern) for pattern in BACKUP_PATTERNS):
            leaks.append(Leak(path, "backup file"))
        elif name in HISTORY_FILES:
            leaks.append(Leak(path, "shell history"))
        elif is_file and ("/.cache/" in path or path.startswith(CACHE_PREFIXES)):
            leaks.append(Leak(path, "package cache"))
        elif path.startswith(LOG_PREFIXES) and is_file:
            leaks.append(Leak(path, "log written by the fault"))
        elif kind == "A" and is_file and name in deleted_names and path not in deleted:
            leaks.append(Leak(path, "copy of a removed file"))
        elif kind == "A" and is_file and path.startswith(LEFTOVER_PREFIXES):
            leaks.append(Leak(path, "leftover file"))
        elif kind == "C" and is_file and stat is not None and stat.mtime > gold_created:
            leaks.append(Leak(path, "modified file has a new mtime"))
    return leaks


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
