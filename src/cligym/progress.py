"""Progress events: the library reports, only the CLI draws (with rich)."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def stage(self, stage: str, message: str) -> None:
        """A step of a stage started or finished (one line for the user)."""

    def progress(self, stage: str, done: int, total: int, label: str = "") -> None:
        """`done` of `total` units of a stage are finished (drawn as a bar)."""


class _NullReporter:
    def stage(self, stage: str, message: str) -> None:
        return None

    def progress(self, stage: str, done: int, total: int, label: str = "") -> None:
        return None


NULL_REPORTER: Reporter = _NullReporter()
