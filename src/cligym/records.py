"""Typed, immutable records that flow between stages and into the catalog.

Ids are content hashes (see `cligym.ids`); nothing important lives in a dict with string keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema

from cligym.testbed.layout import APP_DIR, VENV

K = TypeVar("K")
V = TypeVar("V")


class FrozenDict(dict[K, V]):
    """A dict that refuses every change: what the mappings of frozen records are.

    A dict subclass rather than `types.MappingProxyType`, so records still pickle (Ray ships
    them between processes), deep-copy, compare equal to plain dicts and serialise as one.
    """

    __slots__ = ()

    def _refuse(self) -> NoReturn:
        raise TypeError("a record's mapping cannot be changed; build a new record instead")

    def __setitem__(self, key: K, value: V) -> NoReturn:
        self._refuse()

    def __delitem__(self, key: K) -> NoReturn:
        self._refuse()

    def __ior__(self, other: object) -> NoReturn:  # type: ignore[misc]
        self._refuse()

    def clear(self) -> NoReturn:
        self._refuse()

    def pop(self, *args: object) -> NoReturn:
        self._refuse()

    def popitem(self) -> NoReturn:
        self._refuse()

    def setdefault(self, *args: object) -> NoReturn:
        self._refuse()

    def update(self, *args: object, **kwargs: object) -> NoReturn:
        self._refuse()

    def __reduce__(self) -> tuple[type[FrozenDict[K, V]], tuple[dict[K, V]]]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict[K, V]:
        return self

    def __deepcopy__(self, memo: object) -> FrozenDict[K, V]:
        return self  # immutable, and what it holds is (strings, numbers, tuples of them)


# A record's mapping field: read-only to the type checker (Mapping), a FrozenDict at run time,
# a plain JSON object on disk. Defaults are `default_factory=FrozenDict` (defaults are not
# validated).
FrozenMap = Annotated[Mapping[K, V], AfterValidator(FrozenDict)]


class ResourceKind(StrEnum):
    MODULE = "module"  # an imported module (name)
    DIST = "dist"  # an installed distribution (name)
    FILE = "file"  # a file read (absolute path)
    DIR = "dir"  # a directory (absolute path)
    EXE = "exe"  # an executable run by absolute path
    PATH = "path"  # a command looked up on PATH (name)
    LIB = "lib"  # a shared library loaded (real path)
    DLOPEN = "dlopen"  # a library loaded by bare name
    ENV = "env"  # an environment variable read (name)
    LLM = "llm"  # what an LLM-made fault says it targets (free text)


@dataclass(frozen=True, order=True)
class ResourceKey:
    """What a test was seen to use: a kind and a name. Records and the catalog write it as
    `kind:name` (pydantic validates that text into a key and serialises a key back to it).

    No kind is a prefix of another, so keys sort as their texts do."""

    kind: ResourceKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> ResourceKey:
        """`kind:name` back to a key; ValueError when the kind is unknown or the name empty."""
        kind, sep, name = text.partition(":")
        if not sep or not name:
            raise ValueError(f"not a resource key: {text!r}")
        return cls(ResourceKind(kind), name)

    @classmethod
    def _coerce(cls, value: object) -> ResourceKey:
        if isinstance(value, ResourceKey):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        raise ValueError(f"not a resource key: {value!r}")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: object, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._coerce,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.to_string_ser_schema(when_used="always"),
        )


class Record(BaseModel):
    """Base for records: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceKind(StrEnum):
    LOCAL = "local"
    GIT = "git"
    PYPI = "pypi"
    IMAGE = "image"  # an existing Docker image with the project and its environment


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
    project_release: str = Field(
        default="",
        description="NAME==VERSION: install the project as this release's wheel from the index "
        "instead of building the repository (its sdist does not build here)",
    )
    extras: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ("pytest",)
    pytest_args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    per_test_timeout_sec: int = Field(
        default=0, description="pytest-timeout's limit for one test (0: none of ours)"
    )
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
    durations_sec: FrozenMap[str, float] = Field(default_factory=FrozenDict)


class Layout(Record):
    """Where the project and its Python environment are in a gold image. cligym's own golds
    use the defaults; a gold made from an existing image (SWE-smith's `/testbed` and conda env
    `testbed`, say) records that image's. The test user and the results directory are always
    cligym's: it adds them to every gold."""

    app_dir: str = APP_DIR
    env_dir: str = Field(default=VENV, description="prefix of the environment the tests use")
    env_kind: Literal["venv", "conda"] = "venv"
    activation: tuple[str, ...] = Field(
        default=(), description="login-shell lines that activate it (empty: PATH only)"
    )

    @property
    def python(self) -> str:
        """The environment's interpreter (what `python` resolves to in the tests' shell)."""
        return f"{self.env_dir}/bin/python"


DEFAULT_LAYOUT = Layout()


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
    layout: Layout = Field(
        default=DEFAULT_LAYOUT,
        exclude_if=lambda v: v == DEFAULT_LAYOUT,  # cligym's own golds are stored as before
        description="where the project and its environment are (an existing image's own)",
    )

    @property
    def run_sec(self) -> float:
        """Wall time of one gold test run (container included): what bounds runs scale with."""
        return self.test_duration_sec / max(1, self.stability.runs)


class ImpactMap(Record):
    """Per gold env: which stable tests touch which resource (modules, libs, files, env, ...)."""

    gold_id: str
    tests: tuple[str, ...]
    resources: FrozenMap[ResourceKey, tuple[int, ...]] = Field(
        description="resource key (kind:name) -> indices into `tests`"
    )
    global_resources: tuple[ResourceKey, ...] = Field(
        description="touched outside tests: affect all"
    )
    module_files: FrozenMap[str, str] = Field(default_factory=FrozenDict)
    extension_libs: FrozenMap[str, tuple[str, ...]] = Field(default_factory=FrozenDict)
    lib_names: FrozenMap[str, str] = Field(
        default_factory=FrozenDict, description="real path -> soname"
    )
    interpreter: str = ""
    interpreter_libs: tuple[str, ...] = ()
    system_libs: tuple[str, ...] = Field(default=(), description="needed by apt, dpkg, the shell")
    paths: FrozenMap[str, str] = Field(
        default_factory=FrozenDict, description="sysconfig paths, prefix"
    )
    dist_versions: FrozenMap[str, str] = Field(default_factory=FrozenDict)
    direct_urls: FrozenMap[str, str] = Field(
        default_factory=FrozenDict,
        description="distribution -> the URL or directory it was installed from (not an index)",
    )
    module_dists: FrozenMap[str, tuple[str, ...]] = Field(
        default_factory=FrozenDict, description="top-level import name -> distributions"
    )
    owners: FrozenMap[str, str] = Field(
        default_factory=FrozenDict, description="path -> Debian package"
    )

    def tests_using(self, resource: ResourceKey | str) -> tuple[str, ...]:
        """The tests that use `resource` (a key, or its `kind:name` text)."""
        key = resource if isinstance(resource, ResourceKey) else ResourceKey.parse(resource)
        return tuple(self.tests[i] for i in self.resources.get(key, ()))


class FaultCategory(StrEnum):
    DEPENDENCIES = "dependencies"
    SHARED_LIBRARIES = "shared-libraries"
    ENVIRONMENT = "environment"
    FILESYSTEM = "filesystem"
    CONFIGURATION = "configuration"
    INTERPRETER = "interpreter"
    PACKAGE_MANAGER = "package-manager"


class FaultTarget(Record):
    """One family applied to one resource, with the tests the impact map predicts will fail."""

    family: str
    resource: ResourceKey
    params: tuple[tuple[str, str], ...] = ()
    predicted_tests: tuple[str, ...] = ()
    layout: Layout | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="the gold env's layout when not cligym's own (steps render paths from it)",
    )

    def param(self, key: str, default: str = "") -> str:
        return dict(self.params).get(key, default)


class AttemptOutcome(Record):
    """What one run of the tests on a broken environment showed."""

    applied: bool
    failing: tuple[str, ...] = ()
    errors: FrozenMap[str, str] = Field(
        default_factory=FrozenDict, description="nodeid -> error excerpt"
    )
    ran_tests: int = 0
    runner_broken: bool = False
    timed_out: bool = False
    output_tail: str = ""
    duration_sec: float = 0.0


class Candidate(Record):
    """A set of faults whose steps made gold-stable tests fail (before verification)."""

    id: str
    gold_id: str
    faults: tuple[FaultTarget, ...]
    families: tuple[str, ...]
    categories: tuple[FaultCategory, ...]
    steps: tuple[str, ...]
    solution: tuple[str, ...]
    needs_network: bool
    failing: tuple[str, ...]
    errors: FrozenMap[str, str] = Field(default_factory=FrozenDict)
    tokens: int = Field(default=0, description="LLM tokens spent to find it (0: procedural)")
    created_at: datetime


class RejectionReason(StrEnum):
    """Why an attempt (search) or a candidate (verification) was not kept.

    Code and reports count and branch on this kind; the record's `reason` text keeps the
    detail for people (the failing line, the leaked path, the duplicate's id).
    """

    STEPS_FAILED = "steps-failed"  # the fault's steps (or the agent's, replayed) did not apply
    TESTS_TIMED_OUT = "tests-timed-out"
    NO_FAILURE = "no-failure"  # no gold-stable test failed
    AGENT_UNFINISHED = "agent-unfinished"  # out of steps or tokens before `finish`
    AGENT_NO_CHANGE = "agent-no-change"
    LLM_ERROR = "llm-error"  # the endpoint failed: redone on resume
    SESSION_ENDED = "session-ended"  # a command never returned, a container died
    BUILD_FAILED = "build-failed"
    NONDETERMINISTIC = "nondeterministic"
    SHELL_NOT_OPERABLE = "shell-not-operable"
    SOLUTION_TIMED_OUT = "solution-timed-out"
    SOLUTION_DID_NOT_RUN = "solution-did-not-run"
    SOLUTION_FAILS = "solution-fails"
    LEAK = "leak"
    RESTORE_FAILS = "restore-fails"
    DUPLICATE = "duplicate"
    CHAIN_DOES_NOT_HOLD = "chain-does-not-hold"  # the payload's repair works without the tool
    UNKNOWN = "unknown"  # a stored reason text from before kinds were recorded, unrecognised


# The reason texts records carried before the kind was stored: read once, when such a record
# is loaded, never to make a decision on a new one.
_LEGACY_REASON_PREFIXES: tuple[tuple[str, RejectionReason], ...] = (
    ("steps failed", RejectionReason.STEPS_FAILED),
    ("steps do not apply", RejectionReason.STEPS_FAILED),
    ("tests did not finish", RejectionReason.TESTS_TIMED_OUT),
    ("no gold-stable test fail", RejectionReason.NO_FAILURE),
    ("agent did not finish", RejectionReason.AGENT_UNFINISHED),
    ("token budget of", RejectionReason.AGENT_UNFINISHED),
    ("agent changed nothing", RejectionReason.AGENT_NO_CHANGE),
    ("llm error", RejectionReason.LLM_ERROR),
    ("session ended", RejectionReason.SESSION_ENDED),
    ("docker build failed", RejectionReason.BUILD_FAILED),
    ("nondeterministic", RejectionReason.NONDETERMINISTIC),
    ("shell not operable", RejectionReason.SHELL_NOT_OPERABLE),
    ("specific solution and verifier did not finish", RejectionReason.SOLUTION_TIMED_OUT),
    ("specific solution did not run", RejectionReason.SOLUTION_DID_NOT_RUN),
    ("specific solution scores 0", RejectionReason.SOLUTION_FAILS),
    ("leak", RejectionReason.LEAK),
    ("restore-from-gold scores 0", RejectionReason.RESTORE_FAILS),
    ("duplicate of task", RejectionReason.DUPLICATE),
)


def legacy_rejection(reason: str) -> RejectionReason:
    """The kind of a reason text stored before kinds were (for loading old catalog rows)."""
    for prefix, kind in _LEGACY_REASON_PREFIXES:
        if reason.startswith(prefix):
            return kind
    return RejectionReason.UNKNOWN


def _with_legacy_rejection(data: Any, kept_field: str) -> Any:
    """A stored record without `rejection`: derive it from its text, once, at load."""
    if isinstance(data, dict) and "rejection" not in data and data.get(kept_field) is False:
        return {**data, "rejection": legacy_rejection(str(data.get("reason", "")))}
    return data


class Attempt(Record):
    """One try of the search, accepted or not, with the reason (yield is measured on these)."""

    id: str
    gold_id: str
    run_id: str
    seed: int
    index: int
    families: tuple[str, ...]
    resources: tuple[ResourceKey, ...]
    accepted: bool
    reason: str = Field(description="for people: what happened, with the detail")
    rejection: RejectionReason | None = Field(default=None, description="None when accepted")
    failing_count: int
    candidate_id: str | None = None
    duration_sec: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        return _with_legacy_rejection(data, "accepted")


class Task(Record):
    """A verified broken environment: real, deterministic, repairable, leak-free."""

    id: str
    name: str
    gold_id: str
    candidate_id: str
    families: tuple[str, ...]
    categories: tuple[FaultCategory, ...]
    faults: tuple[FaultTarget, ...] = Field(default=(), description="what the steps break")
    steps: tuple[str, ...]
    dockerfile: str
    solution: tuple[str, ...]
    restore_paths: tuple[tuple[str, str], ...] = Field(
        description="(kind, path) from `docker diff`: the universal restore-from-gold solution"
    )
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    errors: FrozenMap[str, str]
    signature: str
    difficulty: float
    difficulty_label: Literal["easy", "medium", "hard"]
    image_tag: str
    image_id: str
    image_bytes_added: int
    tokens: int = Field(default=0, description="LLM tokens spent on the attempt that found it")
    hints: FrozenMap[str, str] = Field(default_factory=FrozenDict, description="level -> hint text")
    created_at: datetime


class VerifyResult(Record):
    candidate_id: str
    ok: bool
    reason: str = Field(description="for people: what happened, with the detail")
    rejection: RejectionReason | None = Field(default=None, description="None when verified")
    task_id: str | None = None
    duration_sec: float = 0.0

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        return _with_legacy_rejection(data, "ok")


HintLevel = Literal["none", "category", "specific"]
HINT_LEVELS: tuple[HintLevel, ...] = ("none", "category", "specific")


class IssueText(Record):
    """What a user would post about a task's breakage: symptoms only, never cause or fix."""

    task_id: str
    writer: str = Field(description="'template' or 'llm:<model>'")
    seed: int
    title: str
    body: str
    hints: FrozenMap[str, str] = Field(default_factory=FrozenDict, description="level -> hint text")
    created_at: datetime

    def instruction(self, level: HintLevel = "none") -> str:
        """The text an agent gets: title, body and (above level `none`) the hint."""
        text = f"# {self.title}\n\n{self.body.rstrip()}\n"
        if level != "none" and self.hints.get(level):
            text += f"\nHint: {self.hints[level]}\n"
        return text


class HarnessRun(Record):
    """One trial of a harness agent (oracle, nop, ...) on one exported task."""

    task_name: str
    harness: Literal["harbor", "tb"]
    agent: str
    reward: float | None = Field(description="None when the trial raised before grading")
    error: str = ""
    duration_sec: float = 0.0
    trial_dir: str = ""


class TaskValidation(Record):
    """oracle and nop outcomes of one exported task: valid iff oracle = 1 and nop = 0."""

    task_name: str
    task_id: str
    harness: Literal["harbor", "tb"]
    oracle: HarnessRun
    nop: HarnessRun
    created_at: datetime

    @property
    def valid(self) -> bool:
        return self.oracle.reward == 1.0 and self.nop.reward == 0.0


class TrajectoryStep(Record):
    """One agent turn: what it said, the commands it typed, what came back."""

    message: str = ""
    commands: tuple[str, ...] = ()
    observation: str = ""


class Trajectory(Record):
    """One rollout of a repair agent on an exported task, as the harness recorded it."""

    id: str
    task_name: str
    task_id: str = ""
    hint_level: str = "none"
    harness: Literal["harbor", "tb"] = "harbor"
    agent: str
    model: str
    reward: float | None
    error: str = ""
    steps: tuple[TrajectoryStep, ...]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    trial_dir: str
    created_at: datetime


class BaselineRun(Record):
    """One rung of the baseline ladder on one task: whether the task's own verifier accepted
    what that blind repair script left."""

    task_id: str
    rung: str
    level: int
    script_digest: str = Field(
        default="", description="digest of the rung's script: a changed script is run again"
    )
    reward: float
    reason: str = Field(description="the verifier's line that best explains its verdict")
    timed_out: bool = False
    duration_sec: float
    created_at: datetime


class PushedImage(Record):
    """A gold or task image as a registry holds it: the digest it answered the push with, so
    exports pin what was verified rather than whatever the tag points at later."""

    registry: str = Field(description="HOST[:PORT]/NAMESPACE it was pushed to")
    image_id: str
    kind: Literal["gold", "mirror", "task"]
    ref: str = Field(description="the pushed REPOSITORY:TAG")
    digest: str = Field(description="sha256:... of the manifest the registry stored")
    layers_uploaded: int
    layers_present: int = Field(description="layers the registry already held (not uploaded)")
    created_at: datetime

    @property
    def pinned(self) -> str:
        """REPOSITORY@DIGEST: a reference that cannot move."""
        return f"{self.ref.rpartition(':')[0]}@{self.digest}"


class FilterVerdict(Record):
    """Whether a trajectory is training data, and every reason it is not."""

    trajectory_id: str
    keep: bool
    reasons: tuple[str, ...] = ()
    steps: int
    created_at: datetime
