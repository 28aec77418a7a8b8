"""Blob compression (zlib + CRC-32) and gzip helpers for exported files."""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

from stashkit.defaults import DEFAULT_LEVEL
from stashkit.errors import CorruptArchiveError, CorruptBlobError

#: Every stored blob starts with this magic, followed by CRC-32 and length.
BLOB_MAGIC = b"SKB1"
_HEADER = struct.Struct(">4sIQ")
GZIP_MAGIC = b"\x1f\x8b"


def validate_level(level: int) -> int:
    """Return *level* if it is a valid zlib compression level (0-9)."""
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
        raise ValueError(f"compression level must be an integer from 0 to 9, got {level!r}")
    return level


def crc32_of(data: bytes) -> int:
    """Unsigned CRC-32 of *data*."""
    return zlib.crc32(data) & 0xFFFFFFFF


def compress_blob(data: bytes, level: int = DEFAULT_LEVEL) -> bytes:
    """Compress *data* into the stash blob format."""
    validate_level(level)
    header = _HEADER.pack(BLOB_MAGIC, crc32_of(data), len(data))
    return header + zlib.compress(data, level)


def decompress_blob(blob: bytes) -> bytes:
    """Decode a blob produced by :func:`compress_blob`, verifying CRC and size."""
    if len(blob) < _HEADER.size:
        raise CorruptBlobError("blob is truncated (shorter than its header)")
    magic, crc, size = _HEADER.unpack_from(blob)
    if magic != BLOB_MAGIC:
        raise CorruptBlobError(f"not a stashkit blob (magic {magic!r})")
    try:
        data = zlib.decompress(blob[_HEADER.size :])
    except zlib.error as exc:
        raise CorruptBlobError(f"blob payload cannot be decompressed: {exc}") from exc
    if len(data) != size:
        raise CorruptBlobError(f"blob size mismatch: header says {size}, got {len(data)}")
    actual = crc32_of(data)
    if actual != crc:
        raise CorruptBlobError(f"blob CRC-32 mismatch: expected {crc:08x}, got {actual:08x}")
    return data


def blob_crc32(blob: bytes) -> int:
    """Return the CRC-32 recorded in a blob header without decompressing it."""
    if len(blob) < _HEADER.size:
        raise CorruptBlobError("blob is truncated (shorter than its header)")
    return int(_HEADER.unpack_from(blob)[1])


def is_gzip(data: bytes) -> bool:
    """True if *data* starts with the gzip magic number."""
    return data[:2] == GZIP_MAGIC


def gzip_bytes(data: bytes, level: int = 9) -> bytes:
    """gzip-compress *data* reproducibly (no file name, mtime fixed at 0)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=level, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def gunzip_bytes(data: bytes) -> bytes:
    """Decompress gzip *data*, raising :class:`CorruptArchiveError` on bad input."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptArchiveError(f"invalid gzip data: {exc}") from exc


def write_gzip(path: Path, data: bytes, level: int = 9) -> Path:
    """Write *data* gzip-compressed to *path*."""
    path = Path(path)
    path.write_bytes(gzip_bytes(data, level))
    return path


def read_gzip(path: Path) -> bytes:
    """Read and decompress the gzip file at *path*."""
    return gunzip_bytes(Path(path).read_bytes())


def zlib_version() -> str:
    """Version of the zlib library Python is linked against at run time."""
    return zlib.ZLIB_RUNTIME_VERSION
