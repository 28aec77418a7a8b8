"""Fault families: small plug-ins that break one kind of thing in a gold environment.

A family says where it applies (targets, from the impact map), how to break a target (shell
commands, each a Dockerfile `RUN` line run as root), how to repair it specifically, its category
and a one-line description used for hints. Steps are plain shell: nothing is left in the image
but the breakage itself (no helper scripts, no backups), and touched files keep their mtimes.
Adding a family never touches the search or the verifier: decorate the class with `@register`
(and list a new module in `registry.py`). Families import only this module, `shell` and
`targets`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Self

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict

from cligym.records import (
    DEFAULT_LAYOUT,
    FaultCategory,
    FaultTarget,
    GoldEnv,
    ImpactMap,
    Layout,
    ResourceKey,
    ResourceKind,
)

REGISTRY: dict[str, type[FaultFamily]] = {}


def layout_of(target: FaultTarget) -> Layout:
    """The layout of the gold env a target was planned on (cligym's own when unrecorded)."""
    return target.layout or DEFAULT_LAYOUT


class FaultParams(BaseModel):
    """A family's parameters, typed. Each family declares its own model (`params_type`) and
    reads a target's parameters through it (`Model.of(target)`).

    A target records them as sorted (name, text) pairs, the form catalogs and work dirs have
    always stored, so older records load unchanged: only the fields set on construction are
    written, each as `str(value)`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((k, str(v)) for k, v in self.model_dump(exclude_unset=True).items()))

    @classmethod
    def of(cls, target: FaultTarget) -> Self:
        """The target's parameters as this model (ValidationError when they do not fit)."""
        return cls.model_validate(dict(target.params))


class NoParams(FaultParams):
    """For families whose target resource says all they need."""


@dataclass(frozen=True)
class FaultContext:
    """What families look at: the gold env and its impact map."""

    gold: GoldEnv
    impact: ImpactMap
    releases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Installable releases per distribution (from the package index), oldest first."""

    def stamped(self, targets: Sequence[FaultTarget]) -> list[FaultTarget]:
        """`targets` carrying the gold env's layout when it is not cligym's own: steps and
        solutions render the project's and the environment's paths from it."""
        layout = self.gold.layout
        if layout == DEFAULT_LAYOUT:
            return list(targets)
        return [t.model_copy(update={"layout": layout}) for t in targets]

    def older_release(self, dist: str, current: str) -> str | None:
        """An installable release of an older series than `current`, or None."""
        try:
            now = Version(current)
        except InvalidVersion:
            return None
        older = []
        for text in self.releases.get(dist, ()):
            try:
                v = Version(text)
            except InvalidVersion:
                continue
            if not v.is_prerelease and v.release[:2] < now.release[:2]:
                older.append(v)
        if not older:
            return None
        series = sorted({v.release[:2] for v in older})
        # the oldest release two series back (when there are two), so the API really differs
        wanted = series[-2] if len(series) >= 2 else series[-1]
        return str(min(v for v in older if v.release[:2] == wanted))

    @property
    def stable(self) -> tuple[str, ...]:
        return self.gold.stability.stable_passing

    def users(self, resource: ResourceKey) -> tuple[str, ...]:
        return self.impact.tests_using(resource)

    def resources(self, kind: ResourceKind) -> list[ResourceKey]:
        return sorted(k for k in self.impact.resources if k.kind is kind)

    def modules(self) -> list[tuple[ResourceKey, str, str]]:
        """(resource key, module name, file) of every module some test ran or imported."""
        return [
            (key, key.name, self.impact.module_files.get(key.name, ""))
            for key in self.resources(ResourceKind.MODULE)
        ]

    def lib_resources(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(real path, soname, users) of shared libraries tests load, except libc & co and
        the libraries the package manager and the shell need."""
        out = []
        system = set(self.impact.system_libs)
        for key in self.resources(ResourceKind.LIB):
            real = key.name
            if real in system:
                continue  # apt/dpkg/the shell need it: the breakage could not be repaired
            if "/site-packages/" in real or "/lib-dynload/" in real:
                continue  # an extension module, not a library: see extension-module-removed
            soname = self.impact.lib_names.get(real, os.path.basename(real))
            if soname.startswith(("libc.so", "ld-linux", "libm.so", "libpthread", "libdl.so")):
                continue
            out.append((real, soname, self.users(key)))
        return out

    def lib_users(self, *soname_prefixes: str) -> tuple[str, ...]:
        """Stable tests that load a library whose soname starts with one of the prefixes."""
        return self.subset(
            u
            for _, soname, users in self.lib_resources()
            if soname.startswith(soname_prefixes)
            for u in users
        )

    def subset(self, tests: Iterable[str]) -> tuple[str, ...]:
        """Only gold-stable tests, sorted."""
        stable = set(self.stable)
        return tuple(sorted(t for t in tests if t in stable))


class FaultFamily(ABC):
    """One kind of breakage. Subclasses are stateless; everything lives in FaultTarget."""

    name: ClassVar[str]
    category: ClassVar[FaultCategory]
    description: ClassVar[str]
    needs_network: ClassVar[bool] = False  # only the solution may; steps never do
    params_type: ClassVar[type[FaultParams]] = NoParams
    blocks: ClassVar[str | None] = None
    """The repair tool (`pip`, `apt`) this family breaks, for a blocker family: see
    `blocker_targets`."""
    aims_at_payload: ClassVar[bool] = False
    """A blocker that breaks the tool only for one resource (a pin on one distribution): it
    joins only a fault on that same resource."""
    joins_families: ClassVar[frozenset[str]] = frozenset()
    """For a blocker that only makes sense after certain faults (a missing RECORD needs an
    installed distribution to replace): the payload families it joins; empty means any."""
    sibling_payload: ClassVar[bool] = True
    """Whether a chain may carry this family's fault untried, because a fault of another
    family with the same repair was accepted. False where the damage shows only in some uses
    (an older release that mostly still works, metadata that few read)."""
    payload_only: ClassVar[bool] = False
    """Never tried alone: its faults ride only as a chain's payload, standing in for an
    accepted fault of another family on the same resource. For damage that teaches the same
    repair behind another symptom, where singles would be one more task per resource (a stdlib
    extension module cut short, after one removed)."""
    kills_loader: ClassVar[bool] = False
    """Whether the damage kills every process that loads the resource (SIGBUS, SIGILL),
    rather than raising an error its caller may catch: hashlib falls back to its own code when
    libcrypto fails to load, but not when loading it kills the interpreter. A sibling that
    raises stands in for an accepted fault only when that one raised too."""
    variant_group: ClassVar[str | None] = None
    """Families whose tasks are variants of one lesson (one standard-library module after
    another) share a group: the search keeps `VARIANT_GROUP_CAP` single faults of a group per
    gold env, and never builds chains or compositions on them."""

    @abstractmethod
    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        """Where this family applies, each with the tests predicted to fail."""

    @abstractmethod
    def steps(self, target: FaultTarget) -> list[str]:
        """Shell commands (one `RUN` line each, as root) that apply the fault."""

    @abstractmethod
    def solution(self, target: FaultTarget) -> list[str]:
        """Shell commands (as root) that repair exactly this fault."""

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        """Targets that break the repair tool named by `blocks` and no test: joined to a fault
        whose repair needs that tool, they make a repair chain."""
        return []

    def hint(self, target: FaultTarget) -> str:
        """The `specific` hint: names the area, never the fix."""
        return self.description

    def target(
        self, resource: ResourceKey, predicted: Sequence[str], params: FaultParams | None = None
    ) -> FaultTarget:
        params = NoParams() if params is None else params
        if type(params) is not self.params_type:
            raise TypeError(f"{self.name} takes {self.params_type.__name__}, not {params!r}")
        return FaultTarget(
            family=self.name,
            resource=resource,
            params=params.pairs(),
            predicted_tests=tuple(sorted(set(predicted))),
        )


class BlockerFamily(FaultFamily):
    """A family that breaks a repair tool and no test: it joins faults in repair chains
    (`blocker_targets`) and never stands alone."""

    config: ClassVar[str] = ""
    """The one file or directory the blocker breaks, for a blocker with a single target."""

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return []

    def config_path(self, ctx: FaultContext) -> str:
        """The file this blocker writes (a family may place it by the gold env's layout)."""
        return self.config

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        config = self.config_path(ctx)
        if not config:
            return []
        return [self.target(ResourceKey(ResourceKind.FILE, config), ())]


def register(cls: type[FaultFamily]) -> type[FaultFamily]:
    if cls.name in REGISTRY:
        raise ValueError(f"fault family {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls
