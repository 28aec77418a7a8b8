"""Time-zone handling backed by the system tzdata (zoneinfo)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import ModuleType

import pytest

from stashkit.errors import TimeZoneError

WINTER = datetime(2024, 1, 15, 12, 0, tzinfo=timezone.utc)
SUMMER = datetime(2024, 7, 14, 12, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def tu() -> ModuleType:
    from stashkit import timeutil

    return timeutil


def test_zones_come_from_system_tzdata(tu: ModuleType) -> None:
    for name in ("Europe/Berlin", "America/New_York"):
        path = tu.zone_file(name)
        assert path is not None, f"{name} not found on {tu.zoneinfo.TZPATH}"
        assert path.read_bytes()[:4] == b"TZif"


def test_berlin_winter_and_summer(tu: ModuleType) -> None:
    assert tu.format_timestamp(WINTER, "Europe/Berlin") == "2024-01-15 13:00:00 CET"
    assert tu.format_timestamp(SUMMER, "Europe/Berlin") == "2024-07-14 14:30:00 CEST"
    assert tu.utc_offset(WINTER, "Europe/Berlin") == timedelta(hours=1)
    assert tu.utc_offset(SUMMER, "Europe/Berlin") == timedelta(hours=2)


def test_new_york_dst(tu: ModuleType) -> None:
    assert tu.format_timestamp(WINTER, "America/New_York") == "2024-01-15 07:00:00 EST"
    assert tu.format_timestamp(SUMMER, "America/New_York") == "2024-07-14 08:30:00 EDT"
    assert not tu.is_dst(WINTER, "America/New_York")
    assert tu.is_dst(SUMMER, "America/New_York")


def test_new_york_spring_forward_transition(tu: ModuleType) -> None:
    # 2024-03-10 02:00 EST clocks jumped to 03:00 EDT (07:00 UTC).
    before = datetime(2024, 3, 10, 6, 59, tzinfo=timezone.utc)
    after = datetime(2024, 3, 10, 7, 0, tzinfo=timezone.utc)
    assert tu.format_timestamp(before, "America/New_York", "%H:%M %Z") == "01:59 EST"
    assert tu.format_timestamp(after, "America/New_York", "%H:%M %Z") == "03:00 EDT"


def test_berlin_autumn_transition_is_ambiguous_locally(tu: ModuleType) -> None:
    # 2024-10-27: 02:30 local time happens twice in Berlin.
    first = datetime(2024, 10, 27, 0, 30, tzinfo=timezone.utc)
    second = datetime(2024, 10, 27, 1, 30, tzinfo=timezone.utc)
    fmt = "%H:%M %Z"
    assert tu.format_timestamp(first, "Europe/Berlin", fmt) == "02:30 CEST"
    assert tu.format_timestamp(second, "Europe/Berlin", fmt) == "02:30 CET"


def test_unknown_zone_is_a_clear_error(tu: ModuleType) -> None:
    with pytest.raises(TimeZoneError, match="unknown time zone 'Mars/Olympus_Mons'"):
        tu.get_zone("Mars/Olympus_Mons")


def test_naive_datetime_rejected(tu: ModuleType) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        tu.format_timestamp(datetime(2024, 1, 1, 12, 0), "Europe/Berlin")
