"""The stash: compressed, content-addressed blobs plus SQLite metadata."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from stashkit.archive import compress_blob, crc32_of, decompress_blob, validate_level
from stashkit.defaults import DEFAULT_LEVEL
from stashkit.errors import (
    CorruptBlobError,
    DuplicateEntryError,
    InvalidNameError,
    StashError,
    StashNotFoundError,
)
from stashkit.metadata import MetadataStore
from stashkit.models import Entry
from stashkit.perms import (
    check_writable,
    ensure_private_dir,
    read_private_file,
    write_private_file,
)
from stashkit.secure import sha256_bytes

DB_NAME = "stash.db"
BLOB_DIR = "blobs"
MAX_NAME_LENGTH = 255


def validate_name(name: str) -> str:
    """Return *name* if it is usable as an entry name."""
    if not name or name in {".", ".."}:
        raise InvalidNameError(f"invalid entry name {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"entry name is longer than {MAX_NAME_LENGTH} characters")
    if any(ch in name for ch in "/\\\0") or name != name.strip():
        raise InvalidNameError(
            f"invalid entry name {name!r}: no slashes, NUL or surrounding whitespace"
        )
    return name


class Stash:
    """A stash directory: ``stash.db`` plus ``blobs/<aa>/<digest>`` files."""

    def __init__(self, root: Path, *, level: int = DEFAULT_LEVEL) -> None:
        self.root = Path(root)
        self.level = validate_level(level)
        if not (self.root / DB_NAME).is_file():
            raise StashNotFoundError(
                f"no stash at {self.root}; run 'stashkit init' or set STASHKIT_HOME"
            )
        self.meta = MetadataStore(self.root / DB_NAME)

    @classmethod
    def create(cls, root: Path, *, level: int = DEFAULT_LEVEL) -> Stash:
        """Initialise a stash at *root* (idempotent) and open it."""
        root = ensure_private_dir(Path(root))
        ensure_private_dir(root / BLOB_DIR)
        db = root / DB_NAME
        if not db.exists():
            check_writable(root)
            MetadataStore(db).close()
            db.chmod(0o600)
        return cls(root, level=level)

    @classmethod
    def open(cls, root: Path, *, level: int = DEFAULT_LEVEL, create: bool = False) -> Stash:
        """Open the stash at *root*, creating it first if *create* is true."""
        if create:
            return cls.create(root, level=level)
        return cls(root, level=level)

    def close(self) -> None:
        """Release the metadata database."""
        self.meta.close()

    def __enter__(self) -> Stash:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- blobs -------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        """Where the blob with *digest* is (or would be) stored."""
        return self.root / BLOB_DIR / digest[:2] / digest[2:]

    def _store_blob(self, digest: str, data: bytes) -> tuple[int, bool]:
        path = self.blob_path(digest)
        if path.exists():
            return path.stat().st_size, False
        blob = compress_blob(data, self.level)
        ensure_private_dir(path.parent)
        write_private_file(path, blob)
        return len(blob), True

    def _drop_blob(self, digest: str) -> None:
        if self.meta.refcount(digest) == 0:
            with contextlib.suppress(FileNotFoundError):
                self.blob_path(digest).unlink()

    # -- public API --------------------------------------------------------

    def put_bytes(
        self,
        name: str,
        data: bytes,
        *,
        tags: Iterable[str] = (),
        now: datetime | None = None,
    ) -> Entry:
        """Store *data* under *name* and return the new entry."""
        validate_name(name)
        check_writable(self.root)
        if name in self.meta:
            raise DuplicateEntryError(f"an entry named {name!r} already exists")
        digest = sha256_bytes(data)
        stored_size, created_blob = self._store_blob(digest, data)
        entry = Entry(
            name=name,
            digest=digest,
            size=len(data),
            stored_size=stored_size,
            crc32=crc32_of(data),
            created=now or datetime.now(timezone.utc),
            tags=tuple(sorted(set(tags))),
        )
        try:
            self.meta.add(entry)
        except StashError:
            if created_blob:
                self._drop_blob(digest)
            raise
        return entry

    def put(
        self,
        source: Path,
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        now: datetime | None = None,
    ) -> Entry:
        """Store the file at *source* (named after it unless *name* is given)."""
        source = Path(source)
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise StashError(f"no such file: {source}") from None
        except IsADirectoryError:
            raise StashError(f"{source} is a directory; bundle it with tar first") from None
        except PermissionError:
            raise StashError(f"cannot read {source}: permission denied") from None
        return self.put_bytes(name or source.name, data, tags=tags, now=now)

    def get(self, name: str) -> bytes:
        """Return the content stored under *name*, verifying its integrity."""
        entry = self.meta.get(name)
        path = self.blob_path(entry.digest)
        try:
            blob = read_private_file(path)
        except FileNotFoundError:
            raise CorruptBlobError(f"blob for {name!r} is missing ({path})") from None
        data = decompress_blob(blob)
        if sha256_bytes(data) != entry.digest:
            raise CorruptBlobError(f"content of {name!r} does not match its SHA-256 digest")
        return data

    def entry(self, name: str) -> Entry:
        """Metadata for *name*."""
        return self.meta.get(name)

    def entries(self, tag: str | None = None) -> list[Entry]:
        """All entries, optionally filtered by *tag*."""
        return self.meta.list(tag)

    def remove(self, name: str) -> Entry:
        """Delete *name*; its blob is removed once nothing references it."""
        check_writable(self.root)
        entry = self.meta.remove(name)
        self._drop_blob(entry.digest)
        return entry

    def verify(self) -> list[str]:
        """Check every entry and return a list of problems (empty if healthy)."""
        problems = []
        for entry in self.entries():
            try:
                self.get(entry.name)
            except StashError as exc:
                problems.append(f"{entry.name}: {exc}")
        return problems

    def manifest(self, tag: str | None = None) -> dict[str, Any]:
        """A manifest describing the (optionally tag-filtered) entries."""
        from stashkit.manifest import build_manifest

        return build_manifest(self.entries(tag))

    def import_manifest(self, manifest: dict[str, Any]) -> list[Entry]:
        """Re-register manifest entries whose blobs are present in this stash.

        Useful to rebuild a lost ``stash.db``. Entries already present or
        whose blobs are missing are skipped. Returns the entries added.
        """
        from stashkit.manifest import manifest_entries

        check_writable(self.root)
        wanted = [
            e
            for e in manifest_entries(manifest)
            if e.name not in self.meta and self.blob_path(e.digest).is_file()
        ]
        for e in wanted:
            validate_name(e.name)
        self.meta.add_many(wanted)
        return wanted
