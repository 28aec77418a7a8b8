"""Shared fixtures for the stashkit test-suite.

Modules that wrap native libraries or third-party packages (sqlite3, zlib,
ssl, PyYAML, tabulate, ...) are imported inside tests or fixtures rather than
at module level. A broken library then errors only the tests that use it
instead of aborting collection of the whole suite.
"""

from __future__ import annotations

import locale
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stashkit.models import Entry

if TYPE_CHECKING:
    from stashkit.store import Stash

#: A fixed instant used instead of "now" so results never depend on the clock.
FIXED_TIME = datetime(2024, 7, 14, 12, 30, 0, tzinfo=timezone.utc)

_STASHKIT_VARS = ("STASHKIT_HOME", "STASHKIT_TZ", "STASHKIT_LEVEL", "STASHKIT_CONFIG")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the user's real configuration and stash out of every test."""
    for var in _STASHKIT_VARS:
        monkeypatch.delenv(var, raising=False)
    xdg = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg / "data"))


@pytest.fixture
def fixed_time() -> datetime:
    return FIXED_TIME


@pytest.fixture
def restore_locale() -> Iterator[None]:
    """Restore the process locale after a test changes it."""
    saved = locale.setlocale(locale.LC_ALL)
    try:
        yield
    finally:
        locale.setlocale(locale.LC_ALL, saved)


@pytest.fixture
def stash_root(tmp_path: Path) -> Path:
    return tmp_path / "stash"


@pytest.fixture
def stash(stash_root: Path) -> Iterator[Stash]:
    """A freshly initialised stash (SQLite + blob directory) under tmp_path."""
    from stashkit.store import Stash

    with Stash.create(stash_root) as s:
        yield s


def _make_entry(name: str, digest_char: str = "a", *, tags: tuple[str, ...] = ()) -> Entry:
    """An :class:`Entry` with plausible, deterministic field values."""
    return Entry(
        name=name,
        digest=digest_char * 64,
        size=1000,
        stored_size=400,
        crc32=0x1234ABCD,
        created=FIXED_TIME,
        tags=tags,
    )


@pytest.fixture
def make_entry() -> Callable[..., Entry]:
    """Factory for metadata entries that need no blob on disk."""
    return _make_entry


@pytest.fixture
def sample_entries() -> list[Entry]:
    return [
        _make_entry("app-1.0.whl", "a", tags=("release",)),
        _make_entry("build.log", "b", tags=("ci", "logs")),
        _make_entry("notes.txt", "c"),
    ]
