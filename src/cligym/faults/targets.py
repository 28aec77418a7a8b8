"""Impact-map queries several families share: which dependencies, commands, data files and
environment variables the tests use, each with the gold-stable tests that use it.

Pure functions of a `FaultContext`; families pick their targets from these, so two families
aimed at the same resource agree on who is hurt.
"""

from __future__ import annotations

import os

from cligym.faults.base import FaultContext

# The test runner's own distributions: breaking them breaks the runner, not the project.
TOOLING = frozenset(
    {
        "pytest",
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
_SYSTEM_DATA = ("/usr/share/", "/etc/", "/usr/lib/", "/opt/venv/")

# Variables that change how the standard library and OpenSSL behave, with a value that breaks
# them, and the resource whose users they hurt.
ENV_POISON = {
    "SSL_CERT_FILE": ("/etc/ssl/certs/ca-bundle.pem", "lib:libssl"),
    "PYTHONTZPATH": ("/usr/share/zoneinfo-legacy", "file:/usr/share/zoneinfo/"),
    "LC_ALL": ("de_DE.UTF-8", "module:locale"),
    "TZDIR": ("/usr/share/zoneinfo-legacy", "file:/usr/share/zoneinfo/"),
    "PYTHONIOENCODING": ("ascii:strict", "exe:/opt/venv/bin/"),
    "PYTHONUTF8": ("0", "module:locale"),
}


def site_packages(ctx: FaultContext) -> str:
    return ctx.impact.paths.get("purelib", "/opt/venv/lib/python3/site-packages")


def third_party(ctx: FaultContext) -> list[tuple[str, str, tuple[str, ...]]]:
    """(distribution, version, users) for dists tests use, minus the project and test tooling."""
    project = ctx.gold.source.name.lower().replace("_", "-")
    out = []
    for key in ctx.resources("dist"):
        dist = key[5:]
        normal = dist.lower().replace("_", "-")
        if normal == project or normal in TOOLING:
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
    for key in ctx.resources("exe"):
        path = key[4:]
        if path.startswith(("/usr/bin/", "/bin/", "/usr/sbin/", "/usr/local/bin/")):
            name = os.path.basename(path)
            users = set(ctx.users(key)) | set(ctx.users(f"path:{name}"))
            out[name] = (path, users)
    return [(n, p, ctx.subset(u)) for n, (p, u) in sorted(out.items())]


def data_files(ctx: FaultContext) -> list[tuple[str, tuple[str, ...]]]:
    """Files outside /app and /tmp that some tests open."""
    out = []
    for key in ctx.resources("file"):
        path = key[5:]
        if path.startswith(_SYSTEM_DATA) and not path.endswith((".so", ".py", ".pyc")):
            out.append((path, ctx.subset(ctx.users(key))))
    return out


def env_targets(ctx: FaultContext) -> list[tuple[str, str, tuple[str, ...]]]:
    """(variable, bad value, users) for the poisons whose resource some tests use."""
    out = []
    for var, (value, resource) in ENV_POISON.items():
        if resource.startswith("lib:"):
            users = list(ctx.lib_users(resource[4:]))
        else:
            users = [
                u
                for key in ctx.impact.resources
                if key.startswith(resource)
                for u in ctx.users(key)
            ]
        users += list(ctx.users(f"env:{var}"))
        if users:
            out.append((var, value, ctx.subset(users)))
    return out
