"""Locale selection and locale-aware sorting and number formatting."""

from __future__ import annotations

import locale
from collections.abc import Iterable

from stashkit.defaults import DEFAULT_LOCALE
from stashkit.errors import LocaleError

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def use_locale(name: str = DEFAULT_LOCALE) -> str:
    """Switch the process to locale *name* for all categories.

    An empty *name* selects the locale configured in the environment
    (``LC_ALL``, ``LC_*`` or ``LANG``).
    """
    try:
        return locale.setlocale(locale.LC_ALL, name)
    except locale.Error as exc:
        raise LocaleError(
            f"locale {name!r} is not available on this system ({exc}); "
            "install it or choose another with the 'locale' setting"
        ) from exc


def sort_names(names: Iterable[str]) -> list[str]:
    """Sort names using the collation rules of the current locale."""
    return sorted(names, key=locale.strxfrm)


def format_count(number: int) -> str:
    """Format an integer with the current locale's digit grouping."""
    return locale.format_string("%d", number, grouping=True)


def format_size(size: int) -> str:
    """Human-readable size using binary units and the locale's decimal point."""
    if size < 0:
        raise ValueError("size must not be negative")
    if size < 1024:
        return f"{format_count(size)} B"
    value, index = size / 1024, 0
    while value >= 1024 and index < len(_UNITS) - 1:
        value /= 1024
        index += 1
    return f"{locale.format_string('%.1f', value)} {_UNITS[index]}"
