"""SQLite-backed metadata for stash entries."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from stashkit.errors import (
    DuplicateEntryError,
    EntryNotFoundError,
    ReadOnlyStashError,
    StashError,
)
from stashkit.models import Entry

__all__ = ["SCHEMA_VERSION", "Entry", "MetadataStore", "sqlite_version"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    digest      TEXT NOT NULL CHECK (length(digest) = 64),
    size        INTEGER NOT NULL CHECK (size >= 0),
    stored_size INTEGER NOT NULL CHECK (stored_size >= 0),
    crc32       INTEGER NOT NULL,
    created     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_digest ON entries (digest);
CREATE TABLE IF NOT EXISTS tags (
    entry_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (entry_id, tag)
);
"""


def _to_db_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("entry timestamps must be timezone-aware")
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


class MetadataStore:
    """Entry metadata kept in a SQLite database file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(self.path)
        except sqlite3.OperationalError as exc:
            raise StashError(f"cannot open metadata database {self.path}: {exc}") from exc
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction, mapping SQLite errors to stashkit ones."""
        try:
            with self._conn:
                yield self._conn
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if "readonly" in message or "unable to open" in message:
                raise ReadOnlyStashError(
                    f"metadata database {self.path} is read-only: {message}"
                ) from exc
            raise StashError(f"metadata database error: {message}") from exc

    def _migrate(self) -> None:
        try:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StashError(f"{self.path} is not a stashkit database: {exc}") from exc
        if version > SCHEMA_VERSION:
            raise StashError(
                f"{self.path} uses schema version {version}; "
                f"this stashkit supports up to {SCHEMA_VERSION}"
            )
        if version < SCHEMA_VERSION:
            with self._transaction() as conn:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- queries -----------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The ``user_version`` recorded in the database."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _insert(self, conn: sqlite3.Connection, entry: Entry) -> None:
        try:
            cur = conn.execute(
                "INSERT INTO entries (name, digest, size, stored_size, crc32, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    entry.name,
                    entry.digest,
                    entry.size,
                    entry.stored_size,
                    entry.crc32,
                    _to_db_time(entry.created),
                ),
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):
                raise DuplicateEntryError(f"an entry named {entry.name!r} already exists") from exc
            raise StashError(f"invalid entry {entry.name!r}: {exc}") from exc
        conn.executemany(
            "INSERT INTO tags (entry_id, tag) VALUES (?, ?)",
            [(cur.lastrowid, tag) for tag in sorted(set(entry.tags))],
        )

    def add(self, entry: Entry) -> None:
        """Insert one entry."""
        self.add_many([entry])

    def add_many(self, entries: Iterable[Entry]) -> int:
        """Insert several entries atomically: either all are added or none."""
        count = 0
        with self._transaction() as conn:
            for entry in entries:
                self._insert(conn, entry)
                count += 1
        return count

    def _tags_for(self, ids: list[int]) -> dict[int, tuple[str, ...]]:
        result: dict[int, list[str]] = {i: [] for i in ids}
        if ids:
            marks = ",".join("?" * len(ids))
            rows = self._conn.execute(
                f"SELECT entry_id, tag FROM tags WHERE entry_id IN ({marks}) "
                "ORDER BY entry_id, tag",
                ids,
            )
            for row in rows:
                result[row["entry_id"]].append(row["tag"])
        return {i: tuple(tags) for i, tags in result.items()}

    def _entries(self, rows: list[sqlite3.Row]) -> list[Entry]:
        tags = self._tags_for([row["id"] for row in rows])
        return [
            Entry(
                name=row["name"],
                digest=row["digest"],
                size=row["size"],
                stored_size=row["stored_size"],
                crc32=row["crc32"],
                created=datetime.fromisoformat(row["created"]),
                tags=tags[row["id"]],
            )
            for row in rows
        ]

    def get(self, name: str) -> Entry:
        """Return the entry called *name*."""
        rows = self._conn.execute("SELECT * FROM entries WHERE name = ?", (name,)).fetchall()
        if not rows:
            raise EntryNotFoundError(f"no entry named {name!r}")
        return self._entries(rows)[0]

    def __contains__(self, name: object) -> bool:
        row = self._conn.execute("SELECT 1 FROM entries WHERE name = ?", (name,)).fetchone()
        return row is not None

    def list(self, tag: str | None = None) -> list[Entry]:
        """All entries ordered by name, optionally only those carrying *tag*."""
        if tag is None:
            rows = self._conn.execute("SELECT * FROM entries ORDER BY name").fetchall()
        else:
            rows = self._conn.execute(
                "SELECT e.* FROM entries e JOIN tags t ON t.entry_id = e.id "
                "WHERE t.tag = ? ORDER BY e.name",
                (tag,),
            ).fetchall()
        return self._entries(rows)

    def remove(self, name: str) -> Entry:
        """Delete the entry called *name* (and its tags) and return it."""
        entry = self.get(name)
        with self._transaction() as conn:
            conn.execute("DELETE FROM entries WHERE name = ?", (name,))
        return entry

    def refcount(self, digest: str) -> int:
        """Number of entries whose content has the given digest."""
        row = self._conn.execute(
            "SELECT count(*) FROM entries WHERE digest = ?", (digest,)
        ).fetchone()
        return int(row[0])

    def totals(self) -> tuple[int, int, int]:
        """Return ``(entry count, total size, total stored size)``."""
        row = self._conn.execute(
            "SELECT count(*), coalesce(sum(size), 0), coalesce(sum(stored_size), 0) FROM entries"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])


def sqlite_version() -> str:
    """Version of the SQLite library Python is linked against."""
    return sqlite3.sqlite_version
