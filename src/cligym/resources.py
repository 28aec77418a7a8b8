"""Resources: what a test was seen to use (a module, a shared library, an env variable...).

The probe records them, fault families target them, the verifier and the issue text name them.
A key is written `kind:name` in records and the catalog; code handles it as a `ResourceKey`.
"""

from __future__ import annotations

import os

# The key types live beside the records that hold them; this module is where code names them.
from cligym.records import ImpactMap, ResourceKey, ResourceKind

__all__ = ["ResourceKey", "ResourceKind", "describe_resource", "render_impact_summary"]


def describe_resource(key: ResourceKey, impact: ImpactMap) -> str:
    if key.kind is ResourceKind.LIB:
        return impact.lib_names.get(key.name, os.path.basename(key.name))
    if key.kind is ResourceKind.PATH:
        return f"PATH lookup of {key.name}"
    if key.kind is ResourceKind.EXE:
        return f"runs {key.name}"
    return f"{key.kind.value} {key.name}"


SUMMARY_KINDS = (
    ResourceKind.LIB,
    ResourceKind.PATH,
    ResourceKind.EXE,
    ResourceKind.ENV,
    ResourceKind.DIST,
    ResourceKind.FILE,
    ResourceKind.MODULE,
)


def render_impact_summary(
    impact: ImpactMap, kinds: tuple[ResourceKind, ...] = SUMMARY_KINDS, top: int = 12
) -> list[str]:
    """Pure: lines such as 'libsqlite3.so.0: 12 tests', most used first, per kind."""
    lines = [f"{len(impact.tests)} tests probed; {len(impact.resources)} resources"]
    for kind in kinds:
        entries = [(k, v) for k, v in impact.resources.items() if k.kind is kind]
        if not entries:
            continue
        entries.sort(key=lambda kv: (-len(kv[1]), kv[0]))
        shown = "; ".join(
            f"{describe_resource(k, impact)}: {len(v)} tests" for k, v in entries[:top]
        )
        more = f" (+{len(entries) - top} more)" if len(entries) > top else ""
        lines.append(f"{kind}: {shown}{more}")
    return lines
