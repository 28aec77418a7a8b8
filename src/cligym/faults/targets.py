"""Impact-map queries several families share: which dependencies, commands, data files and
environment variables the tests use, each with the gold-stable tests that use it.

Pure functions of a `FaultContext`; families pick their targets from these, so two families
aimed at the same resource agree on who is hurt.
"""

from __future__ import annotations

import os

from cligym.faults.base import FaultContext
from cligym.records import ResourceKey, ResourceKind

# The test runner's own distributions: breaking them breaks the runner, not the project.
TOOLING = frozenset(
    {
        "pytest",
        "pytest-timeout",
        "pluggy",
        "iniconfig",
        "packaging",
        "pip",
        "setuptools",
        "pygments",
        "wheel",
        "exceptiongroup",
        "tomli",
        "colorama",
    }
)
_SYSTEM_DATA = ("/usr/share/", "/etc/", "/usr/lib/")

# Variables that change how the standard library and OpenSSL behave, with a value that breaks
# them, and the resource whose users they hurt.
# (A library's resource is matched by soname prefix, any other by the start of its name;
# `{env}` is the gold env's Python environment.)
ENV_POISON: dict[str, tuple[str, ResourceKind, str]] = {
    "SSL_CERT_FILE": ("/etc/ssl/certs/ca-bundle.pem", ResourceKind.LIB, "libssl"),
    "PYTHONTZPATH": ("/usr/share/zoneinfo-legacy", ResourceKind.FILE, "/usr/share/zoneinfo/"),
    "LC_ALL": ("de_DE.UTF-8", ResourceKind.MODULE, "locale"),
    "TZDIR": ("/usr/share/zoneinfo-legacy", ResourceKind.FILE, "/usr/share/zoneinfo/"),
    "PYTHONIOENCODING": ("ascii:strict", ResourceKind.EXE, "{env}/bin/"),
    "PYTHONUTF8": ("0", ResourceKind.MODULE, "locale"),
}


def site_packages(ctx: FaultContext) -> str:
    return ctx.impact.paths.get("purelib", f"{ctx.gold.layout.env_dir}/lib/python3/site-packages")


def third_party(ctx: FaultContext) -> list[tuple[str, str, tuple[str, ...]]]:
    """(distribution, version, users) for dists tests use, minus the project, test tooling and
    whatever was installed from a directory or URL (an image's project, installed editable
    under its own name): a repair that reinstalls a release from the index must be possible."""
    project = ctx.gold.source.name.lower().replace("_", "-")
    out = []
    for key in ctx.resources(ResourceKind.DIST):
        dist = key.name
        normal = dist.lower().replace("_", "-")
        if normal == project or normal in TOOLING or dist in ctx.impact.direct_urls:
            continue
        version = ctx.impact.dist_versions.get(dist, "")
        if version:
            out.append((dist, version, ctx.subset(ctx.users(key))))
    return out


def top_level_modules(ctx: FaultContext, dist: str) -> list[str]:
    return sorted(
        m for m, dists in ctx.impact.module_dists.items() if dist in dists and not m.startswith("_")
    )


def commands(ctx: FaultContext) -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, resolved path, users) of system commands tests run (not the venv's scripts)."""
    out: dict[str, tuple[str, set[str]]] = {}
    for key in ctx.resources(ResourceKind.EXE):
        path = key.name
        if path.startswith(("/usr/bin/", "/bin/", "/usr/sbin/", "/usr/local/bin/")):
            name = os.path.basename(path)
            users = set(ctx.users(key)) | set(ctx.users(ResourceKey(ResourceKind.PATH, name)))
            out[name] = (path, users)
    return [(n, p, ctx.subset(u)) for n, (p, u) in sorted(out.items())]


def data_files(ctx: FaultContext) -> list[tuple[str, tuple[str, ...]]]:
    """Files outside /app and /tmp that some tests open."""
    out = []
    for key in ctx.resources(ResourceKind.FILE):
        path = key.name
        system = path.startswith((*_SYSTEM_DATA, f"{ctx.gold.layout.env_dir}/"))
        if system and not path.endswith((".so", ".py", ".pyc")):
            out.append((path, ctx.subset(ctx.users(key))))
    return out


def env_targets(ctx: FaultContext) -> list[tuple[str, str, tuple[str, ...]]]:
    """(variable, bad value, users) for the poisons whose resource some tests use."""
    out = []
    for var, (value, kind, pattern) in ENV_POISON.items():
        prefix = pattern.format(env=ctx.gold.layout.env_dir)
        if kind is ResourceKind.LIB:
            users = list(ctx.lib_users(prefix))
        else:
            users = [
                u
                for key in ctx.resources(kind)
                if key.name.startswith(prefix)
                for u in ctx.users(key)
            ]
        users += list(ctx.users(ResourceKey(ResourceKind.ENV, var)))
        if users:
            out.append((var, value, ctx.subset(users)))
    return out
