"""The package layout holds: stages import only shared layers, and no import circle exists.

Layers (docs/design.md, "Package layout"): shared modules any stage may import; stages, each a
package that never imports another stage; orchestration (api, pipeline, cli) on top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import cligym

ROOT = Path(cligym.__file__).parent
STAGES = {
    "gold", "probe", "invert", "verify", "package", "validate", "rollout", "report"
}
SHARED = {
    "records",
    "catalog",
    "config",
    "errors",
    "ids",
    "progress",
    "resources",
    "runtime",
    "llm",
    "harness",
    "testbed",
    "shipped",
    "faults",
    "grading",
    "difficulty",
    "selection",
    "dedupe",
}
ORCHESTRATION = {"api", "pipeline", "cli"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent)
        if "samples" in rel.parts:
            continue
        name = ".".join(rel.with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _imports(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """cligym modules a file imports (at any depth: lazy imports count too)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cligym"):
            yield node.module
            for alias in node.names:
                if f"{node.module}.{alias.name}" in known:
                    yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("cligym"))


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_top_level_module_has_a_layer():
    tops = {_top(m) for m in _modules()} - {"", "__main__"}
    assert tops - STAGES - SHARED - ORCHESTRATION == set()


def test_no_stage_imports_another_stage_and_shared_layers_import_no_stage():
    known = _modules()
    wrong = []
    for module, path in known.items():
        here = _top(module)
        for target in _imports(path, known):
            there = _top(target)
            if there == here or there not in STAGES:
                continue
            if here in STAGES or here in SHARED:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_import_circle():
    known = _modules()
    graph = {m: {t for t in _imports(p, known) if t in known} for m, p in known.items()}
    # Tarjan's strongly connected components; any component of two or more is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert circles == []


def test_fault_families_import_only_the_base_and_shared_helpers():
    known = _modules()
    helpers = {
        "cligym.faults",
        "cligym.faults.base",
        "cligym.faults.shell",
        "cligym.faults.targets",
    }
    family_modules = {m for m in known if m.startswith("cligym.faults.")} - helpers
    family_modules.discard("cligym.faults.registry")  # the one module that imports them all
    assert len(family_modules) >= 6
    wrong = [
        f"{m} -> {t}"
        for m in sorted(family_modules)
        for t in _imports(known[m], known)
        if t.startswith("cligym.faults") and t not in helpers
    ]
    assert wrong == []
