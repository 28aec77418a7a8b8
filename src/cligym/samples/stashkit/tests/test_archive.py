"""Blob compression with zlib/CRC-32 and gzip helpers."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from stashkit.errors import CorruptArchiveError, CorruptBlobError

PAYLOAD = b"stashkit test payload\n" * 200


@pytest.fixture(scope="module")
def arc() -> ModuleType:
    from stashkit import archive

    return archive


def test_crc32_known_value(arc: ModuleType) -> None:
    assert arc.crc32_of(b"hello world") == 0x0D4A1185
    assert arc.crc32_of(b"") == 0


def test_blob_roundtrip_and_header(arc: ModuleType) -> None:
    import zlib

    blob = arc.compress_blob(PAYLOAD, level=6)
    assert blob.startswith(arc.BLOB_MAGIC)
    assert arc.blob_crc32(blob) == zlib.crc32(PAYLOAD)
    assert len(blob) < len(PAYLOAD) // 10
    assert arc.decompress_blob(blob) == PAYLOAD


def test_compression_levels(arc: ModuleType) -> None:
    stored = arc.compress_blob(PAYLOAD, level=0)
    best = arc.compress_blob(PAYLOAD, level=9)
    assert len(stored) > len(PAYLOAD)  # level 0 only wraps the data
    assert len(best) < len(stored)
    assert arc.decompress_blob(stored) == arc.decompress_blob(best) == PAYLOAD


@pytest.mark.parametrize("level", [-1, 10, "6", True])
def test_invalid_level_rejected(arc: ModuleType, level: object) -> None:
    with pytest.raises(ValueError, match="compression level"):
        arc.compress_blob(b"x", level=level)


def test_crc_mismatch_detected(arc: ModuleType) -> None:
    blob = bytearray(arc.compress_blob(PAYLOAD))
    blob[5] ^= 0xFF  # inside the stored CRC-32
    with pytest.raises(CorruptBlobError, match="CRC-32 mismatch"):
        arc.decompress_blob(bytes(blob))


def test_corrupt_payload_detected(arc: ModuleType) -> None:
    blob = arc.compress_blob(PAYLOAD)
    damaged = blob[:20] + bytes(b ^ 0x55 for b in blob[20:40]) + blob[40:]
    with pytest.raises(CorruptBlobError):
        arc.decompress_blob(damaged)


def test_bad_magic_and_truncation(arc: ModuleType) -> None:
    with pytest.raises(CorruptBlobError, match="not a stashkit blob"):
        arc.decompress_blob(b"XXXX" + arc.compress_blob(b"data")[4:])
    with pytest.raises(CorruptBlobError, match="truncated"):
        arc.decompress_blob(b"SKB1")


def test_gzip_bytes_are_reproducible(arc: ModuleType) -> None:
    import gzip

    first = arc.gzip_bytes(PAYLOAD)
    assert first == arc.gzip_bytes(PAYLOAD)
    assert first[:2] == b"\x1f\x8b"
    assert gzip.decompress(first) == PAYLOAD


def test_gzip_file_roundtrip(arc: ModuleType, tmp_path: Path) -> None:
    import gzip

    path = arc.write_gzip(tmp_path / "data.gz", PAYLOAD)
    with gzip.open(path, "rb") as fh:
        assert fh.read() == PAYLOAD
    assert arc.read_gzip(path) == PAYLOAD


def test_corrupt_gzip_reported(arc: ModuleType) -> None:
    good = arc.gzip_bytes(PAYLOAD)
    with pytest.raises(CorruptArchiveError):
        arc.gunzip_bytes(good[: len(good) // 2])
    with pytest.raises(CorruptArchiveError):
        arc.gunzip_bytes(b"plain text, not gzip")


def test_zlib_runtime_version(arc: ModuleType) -> None:
    import zlib

    assert arc.zlib_version().split(".")[0] == zlib.ZLIB_VERSION.split(".")[0]
