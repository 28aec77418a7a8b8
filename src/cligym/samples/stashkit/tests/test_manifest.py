"""JSON manifest export/import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stashkit.errors import ManifestError
from stashkit.manifest import (
    MANIFEST_FORMAT,
    build_manifest,
    dumps_manifest,
    loads_manifest,
    manifest_entries,
    read_manifest,
    write_manifest,
)


def test_json_roundtrip(sample_entries) -> None:
    manifest = build_manifest(reversed(sample_entries))
    text = dumps_manifest(manifest)
    loaded = loads_manifest(text)
    assert loaded == manifest
    assert manifest_entries(loaded) == sample_entries  # sorted by name


def test_serialisation_is_stable(sample_entries) -> None:
    text = dumps_manifest(build_manifest(sample_entries))
    assert text == dumps_manifest(build_manifest(list(reversed(sample_entries))))
    data = json.loads(text)
    assert data["format"] == MANIFEST_FORMAT
    assert list(data) == sorted(data)
    assert data["entries"][0]["created"] == "2024-07-14T12:30:00+00:00"


def test_malformed_json_reports_position() -> None:
    with pytest.raises(ManifestError, match=r"malformed manifest JSON: .* line 2 column"):
        loads_manifest('{"format": "stashkit-manifest",\n "version": 1,,}')


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[]", "must be a JSON object"),
        ('{"format": "other", "version": 1, "entries": []}', "not a stashkit manifest"),
        ('{"format": "stashkit-manifest", "version": 99, "entries": []}', "unsupported"),
        ('{"format": "stashkit-manifest", "version": 1, "entries": {}}', "must be a list"),
    ],
)
def test_structure_is_validated(document: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        loads_manifest(document)


def test_entry_fields_are_validated(sample_entries) -> None:
    manifest = build_manifest(sample_entries)
    del manifest["entries"][1]["sha256"]
    with pytest.raises(ManifestError, match="entry #1 is missing field 'sha256'"):
        loads_manifest(json.dumps(manifest))
    manifest = build_manifest(sample_entries)
    manifest["entries"][0]["size"] = "1000"
    with pytest.raises(ManifestError, match="'size' must be int"):
        loads_manifest(json.dumps(manifest))


def test_plain_and_gzip_files(tmp_path: Path, sample_entries) -> None:
    manifest = build_manifest(sample_entries)
    plain = write_manifest(tmp_path / "manifest.json", manifest)
    packed = write_manifest(tmp_path / "manifest.json.gz", manifest)
    assert plain.read_bytes().startswith(b"{")
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert read_manifest(plain) == read_manifest(packed) == manifest
