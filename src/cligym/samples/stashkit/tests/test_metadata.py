"""SQLite metadata store: schema, queries, transactions and constraints."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import ModuleType

import pytest

from stashkit.errors import DuplicateEntryError, EntryNotFoundError, StashError


@pytest.fixture(scope="module")
def md() -> ModuleType:
    from stashkit import metadata

    return metadata


def test_schema_is_created_with_version(tmp_path: Path, md: ModuleType) -> None:
    import sqlite3

    db = tmp_path / "meta.db"
    with md.MetadataStore(db) as store:
        assert store.schema_version == md.SCHEMA_VERSION
    conn = sqlite3.connect(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert {"entries", "tags"} <= tables


def test_add_and_get_roundtrip(tmp_path: Path, md: ModuleType, sample_entries) -> None:
    with md.MetadataStore(tmp_path / "meta.db") as store:
        store.add(sample_entries[1])
        got = store.get("build.log")
    assert got == sample_entries[1]
    assert got.tags == ("ci", "logs")


def test_entries_persist_across_connections(tmp_path: Path, md: ModuleType, sample_entries) -> None:
    db = tmp_path / "meta.db"
    with md.MetadataStore(db) as store:
        store.add_many(sample_entries)
    with md.MetadataStore(db) as store:
        assert [e.name for e in store.list()] == ["app-1.0.whl", "build.log", "notes.txt"]
        assert store.totals() == (3, 3000, 1200)


def test_unique_name_constraint(tmp_path: Path, md: ModuleType, make_entry) -> None:
    with md.MetadataStore(tmp_path / "meta.db") as store:
        store.add(make_entry("dup.bin", "a"))
        with pytest.raises(DuplicateEntryError, match=r"'dup\.bin' already exists"):
            store.add(make_entry("dup.bin", "b"))
        assert store.get("dup.bin").digest == "a" * 64


def test_unique_violation_is_an_sqlite_integrity_error(
    tmp_path: Path, md: ModuleType, make_entry
) -> None:
    import sqlite3

    with md.MetadataStore(tmp_path / "meta.db") as store:
        store.add(make_entry("dup.bin"))
        with pytest.raises(DuplicateEntryError) as info:
            store.add(make_entry("dup.bin"))
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)


def test_add_many_is_atomic(tmp_path: Path, md: ModuleType, make_entry) -> None:
    batch = [make_entry("one", "a"), make_entry("two", "b"), make_entry("one", "c")]
    with md.MetadataStore(tmp_path / "meta.db") as store:
        with pytest.raises(DuplicateEntryError):
            store.add_many(batch)
        # the transaction was rolled back: not even "one" and "two" remain
        assert store.list() == []
        assert store.totals() == (0, 0, 0)


def test_check_constraint_rejects_bad_digest(tmp_path: Path, md: ModuleType, make_entry) -> None:
    bad = dataclasses.replace(make_entry("short-digest"), digest="abc")
    with (
        md.MetadataStore(tmp_path / "meta.db") as store,
        pytest.raises(StashError, match="invalid entry"),
    ):
        store.add(bad)


def test_filter_by_tag(tmp_path: Path, md: ModuleType, sample_entries) -> None:
    with md.MetadataStore(tmp_path / "meta.db") as store:
        store.add_many(sample_entries)
        assert [e.name for e in store.list(tag="ci")] == ["build.log"]
        assert [e.name for e in store.list(tag="release")] == ["app-1.0.whl"]
        assert store.list(tag="missing") == []


def test_remove_cascades_tags_and_refcount(tmp_path: Path, md: ModuleType, make_entry) -> None:
    import sqlite3

    db = tmp_path / "meta.db"
    with md.MetadataStore(db) as store:
        store.add_many([make_entry("a", "f", tags=("x",)), make_entry("b", "f")])
        assert store.refcount("f" * 64) == 2
        removed = store.remove("a")
        assert removed.tags == ("x",)
        assert store.refcount("f" * 64) == 1
        with pytest.raises(EntryNotFoundError):
            store.get("a")
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM tags").fetchone()[0] == 0
    finally:
        conn.close()


def test_not_a_database_is_reported(tmp_path: Path, md: ModuleType) -> None:
    db = tmp_path / "meta.db"
    db.write_bytes(b"this is definitely not an SQLite database file" * 4)
    with pytest.raises(StashError, match="not a stashkit database"):
        md.MetadataStore(db)


def test_sqlite_library_version(md: ModuleType) -> None:
    major, minor, *_ = (int(p) for p in md.sqlite_version().split("."))
    assert (major, minor) >= (3, 24)
