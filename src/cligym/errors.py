"""User-facing errors.

Every failure a user can cause or fix is a `CligymError` whose message is one actionable line; the
CLI prints it and exits non-zero. Anything else is a bug and gets a traceback only with --debug.
"""


class CligymError(Exception):
    """Base class: `str(err)` is shown to the user as is."""

    exit_code = 1


class DockerUnavailableError(CligymError):
    """The Docker daemon cannot be reached."""

    exit_code = 3


class DockerOperationError(CligymError):
    """A Docker call failed (build error, engine error)."""


class CommandTimeoutError(CligymError):
    """A command inside a container ran past its time limit and was killed."""


class BaseImageError(CligymError):
    """The base image could neither be pulled nor built locally."""


class SourceError(CligymError):
    """A SOURCE argument cannot be resolved (missing path, bad git ref, unknown PyPI name)."""


class NotAPythonProjectError(SourceError):
    """The source has no pyproject.toml, setup.py, setup.cfg or requirements file."""


class NoTestsError(SourceError):
    """The source has no pytest-style tests."""


class InstallError(CligymError):
    """Installing the project or its test requirements into the gold image failed."""

    def __init__(self, message: str, log_text: str = "") -> None:
        super().__init__(message)
        self.log_text = log_text  # the build's output, for a second recipe (gold/fallback.py)


class GoldTestsError(CligymError):
    """The gold test runs give no usable stable set (too few passing, all failing, timeout)."""


class CatalogError(CligymError):
    """The SQLite catalog is unreadable or from an incompatible version."""


class UnwritablePathError(CligymError):
    """A directory cligym must write to (work directory, --out) cannot be created or written."""
