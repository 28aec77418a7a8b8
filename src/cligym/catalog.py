"""The SQLite catalog: the only persistent state of a work directory.

Rows are written in one transaction once a stage has fully succeeded, so a crash or an error never
leaves a half-written record; records are stored as JSON with a few indexed columns for lookups.
"""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from cligym.errors import CatalogError
from cligym.records import GoldEnv, ImpactMap

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gold_envs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source_spec TEXT NOT NULL,
    image_tag TEXT NOT NULL,
    image_id TEXT NOT NULL,
    stable_tests INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gold_envs_name ON gold_envs(name);
CREATE TABLE IF NOT EXISTS impact_maps (
    gold_id TEXT PRIMARY KEY,
    tests INTEGER NOT NULL,
    resources INTEGER NOT NULL,
    record BLOB NOT NULL
);
"""


class Catalog:
    """Typed access to catalog.sqlite3; one short-lived connection per operation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise CatalogError(
                    f"{path} was written by a newer cligym (schema {row[0]}); upgrade cligym"
                )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=30)
        except sqlite3.Error as err:
            raise CatalogError(f"cannot open catalog {self.path}: {err}") from err
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            with conn:
                yield conn
        except sqlite3.DatabaseError as err:
            raise CatalogError(f"catalog {self.path} is unreadable ({err}); move it away") from err
        finally:
            conn.close()

    def put_gold(self, gold: GoldEnv) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO gold_envs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    gold.id,
                    gold.name,
                    gold.source.spec,
                    gold.image_tag,
                    gold.image_id,
                    len(gold.stability.stable_passing),
                    gold.created_at.isoformat(),
                    gold.model_dump_json(),
                ),
            )

    def get_gold(self, gold_id: str) -> GoldEnv | None:
        with self._connect() as conn:
            row = conn.execute("SELECT record FROM gold_envs WHERE id = ?", (gold_id,)).fetchone()
        return _load(row[0]) if row else None

    def find_gold(self, key: str) -> list[GoldEnv]:
        """Gold envs whose id starts with `key` or whose name or source equals it."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT record FROM gold_envs WHERE id LIKE ? OR name = ? OR source_spec = ? "
                "ORDER BY created_at DESC",
                (key.replace("%", "") + "%", key, key),
            ).fetchall()
        return [_load(r[0]) for r in rows]

    def list_gold(self) -> list[GoldEnv]:
        with self._connect() as conn:
            rows = conn.execute("SELECT record FROM gold_envs ORDER BY created_at").fetchall()
        return [_load(r[0]) for r in rows]

    def delete_gold(self, gold_id: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM gold_envs WHERE id = ?", (gold_id,))

    def put_impact(self, impact: ImpactMap) -> None:
        """Impact maps can be large (a row per test and resource): stored gzip-compressed."""
        blob = gzip.compress(impact.model_dump_json().encode(), compresslevel=6)
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO impact_maps VALUES (?, ?, ?, ?)",
                (impact.gold_id, len(impact.tests), len(impact.resources), blob),
            )

    def get_impact(self, gold_id: str) -> ImpactMap | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT record FROM impact_maps WHERE gold_id = ?", (gold_id,)
            ).fetchone()
        if row is None:
            return None
        try:
            return ImpactMap.model_validate_json(gzip.decompress(row[0]))
        except (ValidationError, OSError) as err:
            raise CatalogError(f"impact map of {gold_id} is unreadable ({err}); re-probe") from err

    def gold_image_refs(self) -> set[str]:
        with self._connect() as conn:
            rows = conn.execute("SELECT image_tag, image_id FROM gold_envs").fetchall()
        return {ref for row in rows for ref in row}


def _load(text: str) -> GoldEnv:
    try:
        return GoldEnv.model_validate_json(text)
    except ValidationError as err:
        raise CatalogError(f"catalog record is not readable by this cligym version: {err}") from err
