"""Settings and the one paths object every stage hangs its files off."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cligym.errors import UnwritablePathError

DEFAULT_WORKDIR = "cligym-work"


@dataclass(frozen=True)
class ContainerLimits:
    """Resource limits for every container cligym starts (a fork bomb or a leak stays contained)."""

    cpus: float = 2.0
    memory_mb: int = 4096
    pids: int = 2048


@dataclass(frozen=True)
class WorkPaths:
    """Layout of a work directory: the SQLite catalog plus artifacts beside it."""

    root: Path

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.sqlite3"

    @property
    def gold_dir(self) -> Path:
        return self.root / "gold"

    @property
    def sources_dir(self) -> Path:
        return self.root / "sources"

    @property
    def staging_dir(self) -> Path:
        return self.root / "staging"

    def gold_artifacts(self, gold_id: str) -> Path:
        return self.gold_dir / gold_id

    def ensure(self) -> WorkPaths:
        """Create the layout; an unusable work directory is a one-line error, not a traceback."""
        hint = "pass a writable --workdir (or set CLIGYM_WORKDIR)"
        for path in (self.root, self.gold_dir, self.sources_dir, self.staging_dir):
            ensure_dir(path, "work directory", hint)
        return self


def ensure_dir(path: Path, what: str, hint: str) -> Path:
    """Create `path` (and parents) and check it can be written to; raise UnwritablePathError.

    Checked before any work starts, so a typo in --out or --workdir fails at once with the path
    and the flag to change, instead of as an internal error after minutes of building.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = "a file is in the way" if path.is_file() else err.strerror or type(err).__name__
        raise UnwritablePathError(f"cannot create {what} {path}: {reason}; {hint}") from err
    if not os.access(path, os.W_OK | os.X_OK):
        raise UnwritablePathError(f"cannot write to {what} {path}: permission denied; {hint}")
    return path


@dataclass(frozen=True)
class Settings:
    """Everything a run can tune; built by the CLI from flags and CLIGYM_* environment variables."""

    workdir: Path = field(default_factory=lambda: Path(DEFAULT_WORKDIR))
    limits: ContainerLimits = field(default_factory=ContainerLimits)
    base_image: str = "cligym-base:bookworm"
    build_timeout_sec: int = 1800
    test_timeout_sec: int = 900

    @property
    def paths(self) -> WorkPaths:
        return WorkPaths(self.workdir.resolve())

    @classmethod
    def from_env(cls, workdir: Path | None = None) -> Settings:
        env = os.environ
        default = cls()
        return cls(
            workdir=workdir or Path(env.get("CLIGYM_WORKDIR", DEFAULT_WORKDIR)),
            limits=ContainerLimits(
                cpus=float(env.get("CLIGYM_CPUS", default.limits.cpus)),
                memory_mb=int(env.get("CLIGYM_MEMORY_MB", default.limits.memory_mb)),
                pids=int(env.get("CLIGYM_PIDS", default.limits.pids)),
            ),
            base_image=env.get("CLIGYM_BASE_IMAGE", default.base_image),
            build_timeout_sec=int(env.get("CLIGYM_BUILD_TIMEOUT_SEC", default.build_timeout_sec)),
            test_timeout_sec=int(env.get("CLIGYM_TEST_TIMEOUT_SEC", default.test_timeout_sec)),
        )
