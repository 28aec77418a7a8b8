"""The fault families, by name: the one place that knows which family modules exist.

Family modules import only `base`, `shell` and `targets`, never each other; this module imports
them all (which registers their classes) and is what the search, the verifier and the CLI use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cligym.faults import (  # noqa: F401  (importing a family module registers its classes)
    configuration,
    dependencies,
    environment,
    filesystem,
    interpreter,
    sharedlibs,
    tooling,
)
from cligym.faults.base import REGISTRY, FaultFamily
from cligym.records import FaultTarget


def families() -> list[FaultFamily]:
    """All registered families, sorted by name."""
    return [REGISTRY[name]() for name in sorted(REGISTRY)]


def family(name: str) -> FaultFamily:
    """The family called `name`; KeyError when there is none."""
    return REGISTRY[name]()


def target_hint(target: FaultTarget) -> str:
    """The specific hint of a target: the one an LLM agent wrote for it, or its family's."""
    if target.param("hint"):
        return target.param("hint")
    try:
        return family(target.family).hint(target)
    except KeyError:
        return "the environment was changed"


_TOOL_USES = {
    "pip": re.compile(r"-m pip install\b|\bpip3? install\b"),
    "apt": re.compile(r"\bapt-get\b|\bapt install\b"),
}


def repair_tools(commands: Sequence[str]) -> set[str]:
    """The package tools (`pip`, `apt`) that these repair commands run."""
    return {tool for tool, uses in _TOOL_USES.items() if any(uses.search(c) for c in commands)}


def is_blocker(target: FaultTarget) -> bool:
    """A fault that breaks a repair tool and, on its own, no test."""
    return not target.predicted_tests and _blocks(target) is not None


def _blocks(target: FaultTarget) -> str | None:
    try:
        return family(target.family).blocks
    except KeyError:
        return None


def ordered_solution(faults: Sequence[FaultTarget]) -> tuple[str, ...]:
    """The repair of several faults, in an order that works: the broken tools first (pip cannot
    reinstall a package while its own TLS or index is broken), then the faults in their order.
    Among the tools, repairs that run no package tool come first: fetching the archive keys
    needs apt's mirror, proxy and dpkg mended already."""
    blockers = [f for f in faults if is_blocker(f)]
    first = sorted(blockers, key=lambda f: bool(repair_tools(family(f.family).solution(f))))
    rest = [f for f in faults if not is_blocker(f)]
    return tuple(s for f in (*first, *rest) for s in family(f.family).solution(f))


def payload_solution(faults: Sequence[FaultTarget]) -> tuple[str, ...]:
    """The repair without mending the broken tools: in a real chain it cannot succeed."""
    return tuple(s for f in faults if not is_blocker(f) for s in family(f.family).solution(f))
