"""Turn the probe plugin's raw JSON into an ImpactMap: resource -> tests that use it (pure).

Resource keys are `kind:name`: module, dist, lib (a shared library's real path), exe (a resolved
executable), path (a PATH lookup of a bare command name), file, env. Resources touched outside
any test (pytest start-up, conftest imports) affect every test and are kept apart as global.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from cligym.records import DEFAULT_LAYOUT, ImpactMap, Layout, ResourceKey, ResourceKind

_IGNORED_MODULE_PREFIXES = (
    "_pytest",
    "pytest",
    "pluggy",
    "pytest_timeout",
    "cligym_probe",
    "builtins",
    "importlib._bootstrap",
    "__main__",
    "py.",
    "_virtualenv",
    "iniconfig",
)
_IGNORED_FILE_PREFIXES = (
    "/tmp/pytest-of-",
    "/tmp/cligym-",
    "/run/cligym-",
    "/usr/lib/python3",
)
SESSION = "<session>"


def _keep_module(name: str) -> bool:
    return (
        bool(name)
        and not name.startswith("<")
        and not any(
            name == p or name.startswith(p if p.endswith(".") else p + ".") or name == p.rstrip(".")
            for p in _IGNORED_MODULE_PREFIXES
        )
    )


def _normal(name: str) -> str:
    """`_sqlite3` -> `sqlite3`, `yaml._yaml` -> `yaml`: the name users know an extension by."""
    return name.rsplit(".", 1)[-1].lstrip("_")


def extension_owners(extensions: Mapping[str, str]) -> dict[str, list[str]]:
    """Module names that count as using each extension module (by name or parent package)."""
    owners: dict[str, list[str]] = defaultdict(list)
    for ext in extensions:
        owners[ext].append(ext)
        owners[_normal(ext)].append(ext)
        if "." in ext:
            owners[ext.rsplit(".", 1)[0]].append(ext)
    return owners


def _resources_of(
    kinds: Mapping[str, Iterable[str]],
    payload: Mapping[str, Any],
    owners: Mapping[str, list[str]],
    skip_libs: set[str],
    ignored_files: tuple[str, ...],
) -> set[ResourceKey]:
    modules_files: Mapping[str, str | None] = payload.get("modules", {})
    extension_libs: Mapping[str, list[str]] = payload.get("extension_libs", {})
    dists: Mapping[str, list[str]] = payload.get("distributions", {})
    out: set[ResourceKey] = set()
    modules = {m for m in (*kinds.get("modules", ()), *kinds.get("imports", ())) if _keep_module(m)}
    for module in modules:
        out.add(ResourceKey(ResourceKind.MODULE, module))
        top = module.split(".", 1)[0]
        for dist in dists.get(top, ()):
            out.add(ResourceKey(ResourceKind.DIST, dist))
        candidates = {
            *owners.get(module, ()),
            *owners.get(_normal(module), ()),
            *owners.get(top, ()),
        }
        for ext in candidates:
            ext_file = modules_files.get(ext)
            if ext_file:
                out.add(ResourceKey(ResourceKind.MODULE, ext))
                for lib in extension_libs.get(ext_file, ()):
                    real = lib.split("|", 1)[0]
                    if real not in skip_libs:
                        out.add(ResourceKey(ResourceKind.LIB, real))
    for path in kinds.get("files", ()):
        if not path.startswith(ignored_files) and "/__pycache__/" not in path:
            out.add(ResourceKey(ResourceKind.FILE, path))
    for exe in kinds.get("executables", ()):
        out.add(ResourceKey(ResourceKind.EXE if "/" in exe else ResourceKind.PATH, exe))
    for lib in kinds.get("mapped", ()):  # newly mapped while the test ran (/proc/self/maps)
        real = os.path.realpath(lib)
        if real not in skip_libs and ".so" in os.path.basename(real):
            out.add(ResourceKey(ResourceKind.LIB, real))
    for lib in kinds.get("dlopen", ()):
        if lib.startswith("/"):
            out.add(ResourceKey(ResourceKind.LIB, os.path.realpath(lib)))
        else:
            out.add(ResourceKey(ResourceKind.DLOPEN, lib))
    for key in kinds.get("env", ()):
        out.add(ResourceKey(ResourceKind.ENV, key))
    return out


def parse_probe_payload(
    gold_id: str, payload: Mapping[str, Any], tests: Iterable[str], layout: Layout = DEFAULT_LAYOUT
) -> ImpactMap:
    """Build the impact map for `tests` (the gold-stable ones) from the plugin's JSON. Files
    the environment's own Python code reads (under `layout.env_dir`/lib) are imports, not data."""
    ignored = (*_IGNORED_FILE_PREFIXES, f"{layout.env_dir}/lib/")
    contexts: Mapping[str, Mapping[str, list[str]]] = payload.get("contexts", {})
    modules_files: Mapping[str, str | None] = payload.get("modules", {})
    extensions = {n: f for n, f in modules_files.items() if f and f.endswith(".so")}
    owners = extension_owners(extensions)
    test_ids = tuple(sorted(set(tests)))
    # Libraries the interpreter itself needs affect every test and are reported once
    # (interpreter_libs). What pytest's start-up touched is listed as global_resources too:
    # a fault there may break every test, which families that want a subset check for.
    interpreter_libs = {lib.split("|", 1)[0] for lib in payload.get("interpreter_libs", [])}
    global_resources = _resources_of(
        contexts.get(SESSION, {}), payload, owners, interpreter_libs, ignored
    )
    by_resource: dict[ResourceKey, list[int]] = defaultdict(list)
    for index, nodeid in enumerate(test_ids):
        module_ctx = "collect:" + nodeid.split("::", 1)[0]
        merged: dict[str, set[str]] = defaultdict(set)
        for ctx in (contexts.get(nodeid, {}), contexts.get(module_ctx, {})):
            for kind, values in ctx.items():
                merged[kind].update(values)
        for resource in _resources_of(merged, payload, owners, interpreter_libs, ignored):
            by_resource[resource].append(index)
    lib_names: dict[str, str] = {}
    for libs in (*payload.get("extension_libs", {}).values(), payload.get("interpreter_libs", [])):
        for lib in libs:
            real, _, soname = lib.partition("|")
            lib_names[real] = soname or os.path.basename(real)
    return ImpactMap(
        gold_id=gold_id,
        tests=test_ids,
        resources={k: tuple(by_resource[k]) for k in sorted(by_resource, key=str)},
        global_resources=tuple(sorted(global_resources, key=str)),
        module_files={k: v for k, v in sorted(modules_files.items()) if v},
        extension_libs={
            k: tuple(lib.split("|", 1)[0] for lib in v)
            for k, v in sorted(payload.get("extension_libs", {}).items())
        },
        lib_names=dict(sorted(lib_names.items())),
        interpreter=str(payload.get("executable", "")),
        interpreter_libs=tuple(lib.split("|", 1)[0] for lib in payload.get("interpreter_libs", [])),
        system_libs=tuple(sorted({lib.split("|", 1)[0] for lib in payload.get("system_libs", [])})),
        paths={str(k): str(v) for k, v in payload.get("paths", {}).items()},
        dist_versions=dict(sorted(payload.get("dist_versions", {}).items())),
        direct_urls=dict(sorted(payload.get("direct_urls", {}).items())),
        module_dists={k: tuple(v) for k, v in sorted(payload.get("distributions", {}).items())},
        owners=dict(sorted(payload.get("owners", {}).items())),
    )
