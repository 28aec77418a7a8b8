"""Things stashkit takes from the machine and the user: the local zone, home, the project dir."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest


def test_system_zone_is_readable():
    from stashkit.timeutil import system_zone

    zone = system_zone()
    moment = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc).astimezone(zone)
    assert moment.utcoffset() is not None


def test_recent_stashes_are_remembered_in_home(tmp_path: Path):
    from stashkit.usercache import cache_path, forget_all, remember

    home = Path(os.path.expanduser("~"))
    try:
        remember(tmp_path / "a")
        recent = remember(tmp_path / "b")
        assert recent[:2] == [str(tmp_path / "b"), str(tmp_path / "a")]
        assert cache_path().parent == home
    finally:
        forget_all()


def test_project_lock_in_working_directory(monkeypatch: pytest.MonkeyPatch):
    from stashkit.worklock import LOCK_NAME, project_lock

    with project_lock() as lock:
        assert lock == Path.cwd() / LOCK_NAME and lock.exists()
        with pytest.raises(FileExistsError), project_lock():
            pass
    assert not (Path.cwd() / LOCK_NAME).exists()


def test_narrow_listing_wraps_long_names():
    from stashkit.listing import render_narrow
    from stashkit.models import Entry

    entry = Entry(name="a-rather-long-artifact-name.tar", digest="a" * 64, size=1, stored_size=1,
                  crc32=0, created=datetime(2024, 1, 1, tzinfo=timezone.utc), tags=("x",))
    lines = render_narrow([entry], width=10).splitlines()
    assert len(lines) > 3 and all(len(line) < 30 for line in lines)


def test_content_type_of_stored_files(tmp_path: Path):
    from stashkit.sniff import mime_type

    text = tmp_path / "notes.txt"
    text.write_text("plain words\n")
    gz = tmp_path / "data.gz"
    import gzip

    gz.write_bytes(gzip.compress(b"payload" * 10))
    assert mime_type(text) == "text/plain"
    assert mime_type(gz) == "application/gzip"
