"""Default settings shared by several modules."""

from __future__ import annotations

DEFAULT_LEVEL = 6
DEFAULT_LOCALE = "C.UTF-8"
DEFAULT_TIMEZONE = "UTC"
