"""Exception hierarchy used throughout stashkit."""

from __future__ import annotations


class StashError(Exception):
    """Base class for every error stashkit reports to the user."""

    exit_code = 1


class ConfigError(StashError):
    """The configuration file or environment is invalid."""

    exit_code = 2


class StashNotFoundError(StashError):
    """No stash exists at the requested location."""


class EntryNotFoundError(StashError):
    """The named entry is not in the stash."""


class DuplicateEntryError(StashError):
    """An entry with the same name already exists."""


class InvalidNameError(StashError):
    """An entry name is not acceptable."""


class CorruptBlobError(StashError):
    """A stored blob failed its integrity checks."""


class CorruptArchiveError(StashError):
    """A gzip-compressed file could not be decoded."""


class ManifestError(StashError):
    """A manifest is malformed or has an unexpected structure."""


class SignatureError(StashError):
    """A manifest signature is missing or does not match."""


class BundleError(StashError):
    """Creating, listing or extracting a bundle failed."""


class ToolNotFoundError(BundleError):
    """A required external program is not installed."""


class TimeZoneError(StashError):
    """A time zone name could not be resolved."""


class LocaleError(StashError):
    """A locale is not available on this system."""


class StashPermissionError(StashError):
    """The operating system denied access to a stash file."""


class ReadOnlyStashError(StashPermissionError):
    """The stash cannot be modified by the current user."""
