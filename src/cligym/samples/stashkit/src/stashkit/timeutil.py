"""Time-zone aware timestamp formatting backed by the system tzdata."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path

from stashkit.errors import TimeZoneError

DEFAULT_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def get_zone(name: str) -> zoneinfo.ZoneInfo:
    """Resolve an IANA time-zone name, with a helpful error if it is unknown."""
    try:
        return zoneinfo.ZoneInfo(name)
    except zoneinfo.ZoneInfoNotFoundError as exc:
        raise TimeZoneError(
            f"unknown time zone {name!r} (is the system tzdata package installed?)"
        ) from exc
    except (ValueError, OSError) as exc:
        raise TimeZoneError(f"cannot load time zone {name!r}: {exc}") from exc


def zone_file(name: str) -> Path | None:
    """Path of the system TZif file for *name*, if one exists on ``TZPATH``."""
    for base in zoneinfo.TZPATH:
        candidate = Path(base, name)
        if candidate.is_file():
            return candidate
    return None


def to_zone(moment: datetime, zone: str) -> datetime:
    """Convert an aware datetime to the named zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("refusing to convert a naive datetime; attach a tzinfo first")
    return moment.astimezone(get_zone(zone))


def format_timestamp(moment: datetime, zone: str = "UTC", fmt: str = DEFAULT_FORMAT) -> str:
    """Format *moment* as wall-clock time in *zone*."""
    return to_zone(moment, zone).strftime(fmt)


def utc_offset(moment: datetime, zone: str) -> timedelta:
    """UTC offset that *zone* observes at *moment*."""
    offset = to_zone(moment, zone).utcoffset()
    assert offset is not None  # aware by construction
    return offset


def is_dst(moment: datetime, zone: str) -> bool:
    """True if daylight saving time is in effect in *zone* at *moment*."""
    dst = to_zone(moment, zone).dst()
    return bool(dst)


LOCALTIME = Path("/etc/localtime")


def system_zone() -> zoneinfo.ZoneInfo:
    """The machine's configured time zone, read from /etc/localtime."""
    try:
        with LOCALTIME.open("rb") as handle:
            return zoneinfo.ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError) as exc:
        raise TimeZoneError(f"cannot read the system time zone from {LOCALTIME}: {exc}") from exc
