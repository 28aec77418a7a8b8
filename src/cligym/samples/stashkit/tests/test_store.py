"""The stash as a whole: blobs on disk plus SQLite metadata."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stashkit.errors import (
    CorruptBlobError,
    DuplicateEntryError,
    EntryNotFoundError,
    InvalidNameError,
    StashNotFoundError,
)
from stashkit.secure import sha256_bytes

if TYPE_CHECKING:
    from stashkit.store import Stash

CONTENT = b"artifact bytes " * 500


def test_put_file_and_get(stash: Stash, tmp_path: Path, fixed_time) -> None:
    source = tmp_path / "app.tar"
    source.write_bytes(CONTENT)
    entry = stash.put(source, tags=["release", "release", "v1"], now=fixed_time)
    assert entry.name == "app.tar"
    assert entry.digest == sha256_bytes(CONTENT)
    assert entry.size == len(CONTENT) and entry.stored_size < entry.size
    assert entry.tags == ("release", "v1")
    assert stash.entry("app.tar") == entry
    assert stash.get("app.tar") == CONTENT


def test_blobs_are_content_addressed_and_deduplicated(stash: Stash) -> None:
    first = stash.put_bytes("a.bin", CONTENT)
    second = stash.put_bytes("b.bin", CONTENT)
    assert first.digest == second.digest
    blob = stash.blob_path(first.digest)
    assert blob.relative_to(stash.root).parts == ("blobs", first.digest[:2], first.digest[2:])
    assert blob.read_bytes().startswith(b"SKB1")
    assert sorted(p.name for p in (stash.root / "blobs").rglob("*") if p.is_file()) == [
        first.digest[2:]
    ]


def test_remove_garbage_collects_blob(stash: Stash) -> None:
    stash.put_bytes("a.bin", CONTENT)
    entry = stash.put_bytes("b.bin", CONTENT)
    blob = stash.blob_path(entry.digest)
    stash.remove("a.bin")
    assert blob.exists()  # still referenced by b.bin
    stash.remove("b.bin")
    assert not blob.exists()
    with pytest.raises(EntryNotFoundError):
        stash.get("b.bin")


def test_duplicate_name_keeps_original(stash: Stash) -> None:
    stash.put_bytes("same.txt", b"one")
    with pytest.raises(DuplicateEntryError):
        stash.put_bytes("same.txt", b"two")
    assert stash.get("same.txt") == b"one"
    assert len(list((stash.root / "blobs").rglob("*.tmp-*"))) == 0


@pytest.mark.parametrize("name", ["", "..", "dir/file", " padded", "a\0b"])
def test_invalid_names_rejected(stash: Stash, name: str) -> None:
    with pytest.raises(InvalidNameError):
        stash.put_bytes(name, b"x")


def test_verify_detects_corruption(stash: Stash) -> None:
    stash.put_bytes("good.txt", b"fine")
    bad = stash.put_bytes("bad.txt", CONTENT)
    blob = stash.blob_path(bad.digest)
    data = bytearray(blob.read_bytes())
    data[-3] ^= 0xFF
    blob.write_bytes(bytes(data))
    problems = stash.verify()
    assert len(problems) == 1 and problems[0].startswith("bad.txt: ")
    with pytest.raises(CorruptBlobError):
        stash.get("bad.txt")


def test_compression_level_is_applied(tmp_path: Path) -> None:
    from stashkit.store import Stash

    with (
        Stash.create(tmp_path / "fast", level=0) as fast,
        Stash.create(tmp_path / "small", level=9) as small,
    ):
        assert fast.put_bytes("x", CONTENT).stored_size > len(CONTENT)
        assert small.put_bytes("x", CONTENT).stored_size < len(CONTENT) // 20


def test_open_missing_stash(tmp_path: Path) -> None:
    from stashkit.store import Stash

    with pytest.raises(StashNotFoundError, match="run 'stashkit init'"):
        Stash.open(tmp_path / "nowhere")


def test_manifest_import_rebuilds_lost_database(stash_root: Path, fixed_time) -> None:
    from stashkit.store import Stash

    with Stash.create(stash_root) as stash:
        stash.put_bytes("one.txt", b"1", tags=["x"], now=fixed_time)
        stash.put_bytes("two.txt", b"2", now=fixed_time)
        manifest = stash.manifest()
    (stash_root / "stash.db").unlink()
    with Stash.create(stash_root) as rebuilt:
        assert rebuilt.entries() == []
        added = rebuilt.import_manifest(manifest)
        assert [e.name for e in added] == ["one.txt", "two.txt"]
        assert rebuilt.get("one.txt") == b"1"
        assert rebuilt.entry("one.txt").tags == ("x",)
        assert rebuilt.import_manifest(manifest) == []  # idempotent
