"""The fault families, by name: the one place that knows which family modules exist.

Family modules import only `base`, `shell` and `targets`, never each other; this module imports
them all (which registers their classes) and is what the search, the verifier and the CLI use.
"""

from __future__ import annotations

from cligym.faults import (  # noqa: F401  (importing a family module registers its classes)
    configuration,
    dependencies,
    environment,
    filesystem,
    interpreter,
    sharedlibs,
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
