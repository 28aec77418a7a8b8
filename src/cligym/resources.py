"""Resources: what a test was seen to use (a module, a shared library, an env variable...).

The probe records them, fault families target them, the verifier and the issue text name them.
A key is written `kind:name` in records and the catalog; code handles it as a `ResourceKey`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from cligym.records import ImpactMap


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


def describe_resource(key: str, impact: ImpactMap) -> str:
    kind, _, name = key.partition(":")
    if kind == "lib":
        return impact.lib_names.get(name, os.path.basename(name))
    if kind == "path":
        return f"PATH lookup of {name}"
    if kind == "exe":
        return f"runs {name}"
    return f"{kind} {name}"


def render_impact_summary(
    impact: ImpactMap,
    kinds: tuple[str, ...] = ("lib", "path", "exe", "env", "dist", "file", "module"),
    top: int = 12,
) -> list[str]:
    """Pure: lines such as 'libsqlite3.so.0: 12 tests', most used first, per kind."""
    lines = [f"{len(impact.tests)} tests probed; {len(impact.resources)} resources"]
    for kind in kinds:
        entries = [(k, v) for k, v in impact.resources.items() if k.startswith(kind + ":")]
        if not entries:
            continue
        entries.sort(key=lambda kv: (-len(kv[1]), kv[0]))
        shown = "; ".join(
            f"{describe_resource(k, impact)}: {len(v)} tests" for k, v in entries[:top]
        )
        more = f" (+{len(entries) - top} more)" if len(entries) > top else ""
        lines.append(f"{kind}: {shown}{more}")
    return lines
