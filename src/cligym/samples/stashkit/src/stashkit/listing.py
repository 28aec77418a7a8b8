"""Tabular listings of stash entries, rendered with tabulate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone, tzinfo

from tabulate import tabulate, tabulate_formats

from stashkit.models import Entry

HEADERS = ("name", "size", "stored", "ratio", "sha256", "created", "tags")
TIME_FORMAT = "%Y-%m-%d %H:%M %Z"
EMPTY_MESSAGE = "(stash is empty)"


def entry_row(entry: Entry, tz: tzinfo, size_fmt: Callable[[int], str] = str) -> list[str]:
    """One table row for *entry*."""
    created: datetime = entry.created.astimezone(tz)
    return [
        entry.name,
        size_fmt(entry.size),
        size_fmt(entry.stored_size),
        f"{entry.ratio:.0%}",
        entry.digest[:12],
        created.strftime(TIME_FORMAT),
        ",".join(entry.tags),
    ]


def render_table(
    entries: Sequence[Entry],
    *,
    tz: tzinfo = timezone.utc,
    tablefmt: str = "simple",
    size_fmt: Callable[[int], str] = str,
) -> str:
    """Render *entries* (in the given order) as a text table."""
    if tablefmt not in tabulate_formats:
        raise ValueError(
            f"unknown table format {tablefmt!r}; choose one of {', '.join(tabulate_formats)}"
        )
    if not entries:
        return EMPTY_MESSAGE
    rows = [entry_row(e, tz, size_fmt) for e in entries]
    return tabulate(
        rows, headers=HEADERS, tablefmt=tablefmt, disable_numparse=True, stralign="left"
    )


def render_narrow(entries: Sequence[Entry], *, width: int = 12) -> str:
    """Names and tags wrapped to *width* columns (needs tabulate >= 0.9 for maxcolwidths)."""
    rows = [[e.name, ",".join(e.tags)] for e in entries]
    return tabulate(rows, headers=("name", "tags"), tablefmt="simple",
                    maxcolwidths=[width, width], disable_numparse=True)
