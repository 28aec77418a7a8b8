"""Picking items by name: the named ones in the order named (all when none are named), then
at most `limit`. Callers turn the two failures into their own one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence


class UnknownName(LookupError):
    """A name that no item has."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def select_named[T](
    items: Sequence[T], name_of: Callable[[T], str], names: Sequence[str], limit: int | None
) -> list[T]:
    """Raises UnknownName for a name no item has, ValueError for a limit below 1."""
    chosen = list(items)
    if names:
        known = {name_of(item): item for item in chosen}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UnknownName(unknown[0])
        chosen = [known[n] for n in names]
    if limit is not None:
        if limit < 1:
            raise ValueError("--limit must be at least 1")
        chosen = chosen[:limit]
    return chosen
