"""Bundles built and read through the system ``tar`` program."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

import pytest

from stashkit.bundle import create_bundle, extract_bundle, find_tar, list_bundle
from stashkit.errors import BundleError, ToolNotFoundError

MEMBERS = {
    "README.txt": b"read me\n",
    "app-1.0.whl": b"PK\x03\x04 not really a wheel",
    "logs/build.log": b"step 1\nstep 2\n",
}


def test_find_tar_on_path() -> None:
    tar = find_tar()
    assert os.path.isabs(tar)
    assert os.access(tar, os.X_OK)
    assert tar == shutil.which("tar")


def test_create_and_list(tmp_path: Path) -> None:
    bundle = create_bundle(tmp_path / "out.tar", MEMBERS)
    assert bundle.is_file()
    assert sorted(list_bundle(bundle)) == sorted(MEMBERS)


def test_bundle_is_a_real_tar_archive(tmp_path: Path) -> None:
    bundle = create_bundle(tmp_path / "out.tar", MEMBERS)
    with tarfile.open(bundle) as tf:
        files = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}
    assert files == MEMBERS


def test_extract_roundtrip(tmp_path: Path) -> None:
    bundle = create_bundle(tmp_path / "out.tar", MEMBERS)
    dest = tmp_path / "extracted"
    members = extract_bundle(bundle, dest)
    assert sorted(members) == sorted(MEMBERS)
    for name, content in MEMBERS.items():
        assert (dest / name).read_bytes() == content


def test_missing_tar_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    with pytest.raises(ToolNotFoundError, match="'tar' program is required"):
        create_bundle(tmp_path / "out.tar", MEMBERS)


def test_garbage_archive_reports_tar_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar"
    bogus.write_bytes(b"this is not a tar archive\n" * 100)
    with pytest.raises(BundleError, match="tar failed to list"):
        list_bundle(bogus)


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", ""])
def test_unsafe_member_names_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(BundleError, match="unsafe bundle member"):
        create_bundle(tmp_path / "out.tar", {name: b"x"})
    assert not (tmp_path / "out.tar").exists()
