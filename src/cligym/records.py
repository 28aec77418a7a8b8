"""Typed, immutable records that flow between stages and into the catalog.

Ids are content hashes (see `cligym.ids`); nothing important lives in a dict with string keys.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """Base for records: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceKind(StrEnum):
    LOCAL = "local"
    GIT = "git"
    PYPI = "pypi"


class RepoSource(Record):
    """Where a repository came from and which exact content was used."""

    kind: SourceKind
    spec: str = Field(description="the SOURCE argument as the user gave it")
    name: str = Field(description="short display name, e.g. 'attrs' or 'stashkit'")
    location: str = Field(description="absolute path, git URL, or PyPI index URL of the sdist")
    ref: str | None = Field(default=None, description="git ref or PyPI version asked for")
    resolved: str | None = Field(default=None, description="git commit or PyPI version used")
    content_sha256: str = Field(description="hash of the source tree as copied into the image")


class RecipeSpec(Record):
    """How to install a repository and run its tests; rendered into the gold Dockerfile."""

    apt_packages: tuple[str, ...] = ()
    install_project: bool = True
    extras: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ("pytest",)
    pytest_args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = Field(default=(), description="why each part was chosen")


class TestStatus(StrEnum):
    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


class TestCaseResult(Record):
    __test__ = False  # not a pytest test class

    nodeid: str
    status: TestStatus
    duration_sec: float = 0.0
    message: str = ""


class TestRunResult(Record):
    __test__ = False  # not a pytest test class

    """One pytest run of the whole suite in a fresh container."""

    exit_code: int
    duration_sec: float
    timed_out: bool = False
    cases: tuple[TestCaseResult, ...] = ()
    output_tail: str = ""


class StabilityReport(Record):
    """What N runs of the same suite say about each test."""

    runs: int
    stable_passing: tuple[str, ...]
    flaky: tuple[str, ...]
    failing: tuple[str, ...]
    skipped: tuple[str, ...]
    durations_sec: dict[str, float] = Field(default_factory=dict)


class GoldEnv(Record):
    """A Docker image in which a known set of a repository's tests passes stably."""

    id: str
    name: str
    source: RepoSource
    recipe: RecipeSpec
    base_image: str = Field(description="tag of the base image the recipe starts FROM")
    base_image_id: str
    image_tag: str
    image_id: str
    python_version: str
    pip_freeze: tuple[str, ...]
    dockerfile: str
    stability: StabilityReport
    build_duration_sec: float
    test_duration_sec: float
    created_at: datetime
    status: Literal["ready"] = "ready"


class ImpactMap(Record):
    """Per gold env: which stable tests touch which resource (modules, libs, files, env, ...)."""

    gold_id: str
    tests: tuple[str, ...]
    resources: dict[str, tuple[int, ...]] = Field(
        description="resource key (kind:name) -> indices into `tests`"
    )
    global_resources: tuple[str, ...] = Field(description="touched outside tests: affect all")
    module_files: dict[str, str] = Field(default_factory=dict)
    extension_libs: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    lib_names: dict[str, str] = Field(default_factory=dict, description="real path -> soname")
    interpreter: str = ""
    interpreter_libs: tuple[str, ...] = ()
    paths: dict[str, str] = Field(default_factory=dict, description="sysconfig paths, prefix")
    dist_versions: dict[str, str] = Field(default_factory=dict)
    owners: dict[str, str] = Field(default_factory=dict, description="path -> Debian package")

    def tests_using(self, resource: str) -> tuple[str, ...]:
        return tuple(self.tests[i] for i in self.resources.get(resource, ()))
