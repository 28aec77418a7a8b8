"""Locale selection, collation and number formatting."""

from __future__ import annotations

import locale

import pytest

from stashkit.errors import LocaleError
from stashkit.localeutil import format_count, format_size, sort_names, use_locale

pytestmark = pytest.mark.usefixtures("restore_locale")


def test_c_utf8_locale_available() -> None:
    name = use_locale("C.UTF-8")
    assert name.lower().replace("-", "") == "c.utf8"
    assert locale.nl_langinfo(locale.CODESET) == "UTF-8"
    assert locale.localeconv()["decimal_point"] == "."


def test_sort_names_uses_locale_collation() -> None:
    use_locale("C.UTF-8")
    names = ["zeta.txt", "Zulu.txt", "alpha.txt", "Äpfel.txt", "Beta.txt"]
    # C collation orders by code point: upper case, lower case, then non-ASCII.
    assert sort_names(names) == ["Beta.txt", "Zulu.txt", "alpha.txt", "zeta.txt", "Äpfel.txt"]
    assert sort_names(names) == sorted(names, key=locale.strxfrm)


def test_format_size_uses_locale_decimal_point() -> None:
    use_locale("C.UTF-8")
    assert format_size(0) == "0 B"
    assert format_size(1023) == "1023 B"
    assert format_size(1536) == "1.5 KiB"
    assert format_size(5 * 1024**3) == "5.0 GiB"
    assert format_count(1234567) == "1234567"  # the C locale has no grouping


def test_unavailable_locale_is_a_clear_error() -> None:
    with pytest.raises(LocaleError, match=r"'xx_INVALID\.UTF-8' is not available"):
        use_locale("xx_INVALID.UTF-8")


def test_environment_locale_is_usable() -> None:
    # An empty name selects the locale named by LC_ALL / LC_* / LANG.
    use_locale("")
    assert locale.strxfrm("b") > locale.strxfrm("a")
