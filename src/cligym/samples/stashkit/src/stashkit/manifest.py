"""JSON manifests describing the contents of a stash."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from stashkit import __version__
from stashkit.errors import ManifestError
from stashkit.models import Entry

MANIFEST_FORMAT = "stashkit-manifest"
MANIFEST_VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
_ENTRY_FIELDS: dict[str, type] = {
    "name": str,
    "sha256": str,
    "size": int,
    "stored_size": int,
    "crc32": int,
    "created": str,
    "tags": list,
}


def entry_to_dict(entry: Entry) -> dict[str, Any]:
    """JSON-compatible representation of an entry."""
    return {
        "name": entry.name,
        "sha256": entry.digest,
        "size": entry.size,
        "stored_size": entry.stored_size,
        "crc32": entry.crc32,
        "created": entry.created.isoformat(timespec="seconds"),
        "tags": list(entry.tags),
    }


def entry_from_dict(data: dict[str, Any], index: int = 0) -> Entry:
    """Rebuild an :class:`Entry` from its manifest representation."""
    if not isinstance(data, dict):
        raise ManifestError(f"entry #{index} is not an object")
    for key, typ in _ENTRY_FIELDS.items():
        if key not in data:
            raise ManifestError(f"entry #{index} is missing field {key!r}")
        value = data[key]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise ManifestError(f"entry #{index} field {key!r} must be {typ.__name__}")
    try:
        created = datetime.fromisoformat(data["created"])
    except ValueError as exc:
        raise ManifestError(f"entry #{index} has a bad timestamp: {exc}") from exc
    if created.tzinfo is None:
        raise ManifestError(f"entry #{index} timestamp has no UTC offset")
    return Entry(
        name=data["name"],
        digest=data["sha256"],
        size=data["size"],
        stored_size=data["stored_size"],
        crc32=data["crc32"],
        created=created,
        tags=tuple(str(t) for t in data["tags"]),
    )


def build_manifest(entries: Iterable[Entry]) -> dict[str, Any]:
    """Create a manifest for *entries* (ordered by name)."""
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "generator": f"stashkit {__version__}",
        "entries": [entry_to_dict(e) for e in sorted(entries, key=lambda e: e.name)],
    }


def validate_manifest(data: Any) -> dict[str, Any]:
    """Check the overall structure of a decoded manifest and return it."""
    if not isinstance(data, dict):
        raise ManifestError("manifest must be a JSON object")
    if data.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"not a stashkit manifest (format={data.get('format')!r})")
    if data.get("version") != MANIFEST_VERSION:
        raise ManifestError(f"unsupported manifest version {data.get('version')!r}")
    if not isinstance(data.get("entries"), list):
        raise ManifestError("manifest 'entries' must be a list")
    for index, item in enumerate(data["entries"]):
        entry_from_dict(item, index)
    return data


def manifest_entries(manifest: dict[str, Any]) -> list[Entry]:
    """The entries listed in a validated manifest."""
    return [entry_from_dict(item, i) for i, item in enumerate(manifest["entries"])]


def dumps_manifest(manifest: dict[str, Any]) -> str:
    """Serialise *manifest* as stable, human-readable JSON."""
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def loads_manifest(text: str | bytes) -> dict[str, Any]:
    """Parse and validate a JSON manifest."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"malformed manifest JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ManifestError(f"manifest is not valid UTF-8: {exc}") from exc
    return validate_manifest(data)


def write_manifest(path: Path, manifest: dict[str, Any], *, compress: bool | None = None) -> Path:
    """Write *manifest* to *path*; gzip it if *compress* or the name ends in ``.gz``."""
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    payload = dumps_manifest(manifest).encode("utf-8")
    if compress:
        from stashkit.archive import gzip_bytes  # gzip/zlib only when compressing

        payload = gzip_bytes(payload)
    path.write_bytes(payload)
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    """Read a manifest written by :func:`write_manifest` (plain or gzip)."""
    raw = Path(path).read_bytes()
    if raw[:2] == GZIP_MAGIC:
        from stashkit.archive import gunzip_bytes  # gzip/zlib only when needed

        raw = gunzip_bytes(raw)
    return loads_manifest(raw)
