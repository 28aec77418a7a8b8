"""File permissions of the stash directory and its blobs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stashkit.errors import ReadOnlyStashError, StashPermissionError
from stashkit.perms import ensure_private_dir, is_private, mode_of, write_private_file

if TYPE_CHECKING:
    from stashkit.store import Stash

needs_non_root = pytest.mark.skipif(
    os.geteuid() == 0, reason="root bypasses file permission checks"
)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """Run with a permissive umask so the code, not the umask, sets modes."""
    old = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("loose_umask")
def test_private_dir_created_0700(tmp_path: Path) -> None:
    path = ensure_private_dir(tmp_path / "a" / "b")
    assert mode_of(path) == 0o700
    assert is_private(path)


def test_existing_dir_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "shared"
    path.mkdir()
    path.chmod(0o755)
    ensure_private_dir(path)
    assert mode_of(path) == 0o700


@pytest.mark.usefixtures("loose_umask")
def test_private_file_written_0600_atomically(tmp_path: Path) -> None:
    target = tmp_path / "secret.bin"
    write_private_file(target, b"first")
    write_private_file(target, b"second")
    assert target.read_bytes() == b"second"
    assert mode_of(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.bin"]  # no temp files left


@pytest.mark.usefixtures("loose_umask")
def test_stash_layout_modes(stash_root: Path) -> None:
    from stashkit.store import Stash

    with Stash.create(stash_root) as stash:
        entry = stash.put_bytes("report.pdf", b"%PDF-1.7 fake")
        blob = stash.blob_path(entry.digest)
    assert mode_of(stash_root) == 0o700
    assert mode_of(stash_root / "blobs") == 0o700
    assert mode_of(blob.parent) == 0o700
    assert mode_of(blob) == 0o600
    assert mode_of(stash_root / "stash.db") == 0o600


@pytest.fixture
def read_only_stash(stash_root: Path) -> Iterator[Stash]:
    from stashkit.store import Stash

    stash = Stash.create(stash_root)
    stash.put_bytes("existing.txt", b"already here")
    stash_root.chmod(0o500)
    try:
        yield stash
    finally:
        stash_root.chmod(0o700)
        stash.close()


@needs_non_root
def test_read_only_stash_rejects_put(read_only_stash: Stash) -> None:
    with pytest.raises(ReadOnlyStashError, match="is read-only"):
        read_only_stash.put_bytes("new.txt", b"data")
    assert read_only_stash.get("existing.txt") == b"already here"


@needs_non_root
def test_read_only_blob_dir_rejects_write(stash: Stash, stash_root: Path) -> None:
    (stash_root / "blobs").chmod(0o500)
    try:
        with pytest.raises(StashPermissionError, match="permission denied"):
            stash.put_bytes("new.txt", b"data")
        assert stash.entries() == []
    finally:
        (stash_root / "blobs").chmod(0o700)


@needs_non_root
def test_unreadable_blob_is_reported(stash: Stash) -> None:
    entry = stash.put_bytes("locked.bin", b"top secret")
    blob = stash.blob_path(entry.digest)
    blob.chmod(0o000)
    try:
        with pytest.raises(StashPermissionError, match="permission denied reading"):
            stash.get("locked.bin")
    finally:
        blob.chmod(0o600)


@needs_non_root
def test_cannot_create_stash_in_read_only_parent(tmp_path: Path) -> None:
    from stashkit.store import Stash

    parent = tmp_path / "locked"
    parent.mkdir(mode=0o500)
    try:
        with pytest.raises(StashPermissionError, match="cannot create private directory"):
            Stash.create(parent / "stash")
    finally:
        parent.chmod(0o700)
