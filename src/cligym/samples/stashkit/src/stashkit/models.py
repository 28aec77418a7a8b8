"""Plain data types shared by the storage, manifest and listing layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Entry:
    """Metadata describing one stashed file."""

    name: str
    digest: str
    size: int
    stored_size: int
    crc32: int
    created: datetime
    tags: tuple[str, ...] = field(default=())

    @property
    def ratio(self) -> float:
        """Stored size relative to the original size (1.0 for empty files)."""
        return self.stored_size / self.size if self.size else 1.0
