"""Dependency faults: third-party distributions the tests use (not the project, not pytest)."""

from __future__ import annotations

import os

from cligym.faults.base import FaultContext, FaultFamily, keep_dir_mtime, q, register
from cligym.records import FaultCategory, FaultTarget

PIP = "/opt/venv/bin/python -m pip"
_TOOLING = {
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


def third_party(ctx: FaultContext) -> list[tuple[str, str, tuple[str, ...]]]:
    """(distribution, version, users) for dists tests use, minus the project and test tooling."""
    project = ctx.gold.source.name.lower().replace("_", "-")
    out = []
    for key in ctx.resources("dist"):
        dist = key[5:]
        normal = dist.lower().replace("_", "-")
        if normal == project or normal in _TOOLING:
            continue
        version = ctx.impact.dist_versions.get(dist, "")
        if version:
            out.append((dist, version, ctx.subset(ctx.users(key))))
    return out


def top_level_modules(ctx: FaultContext, dist: str) -> list[str]:
    return sorted(
        m for m, dists in ctx.impact.module_dists.items() if dist in dists and not m.startswith("_")
    )


def site_packages(ctx: FaultContext) -> str:
    return ctx.impact.paths.get("purelib", "/opt/venv/lib/python3/site-packages")


def backdated(command: str, root: str = "/opt/venv") -> str:
    """Run a pip command, then give everything it wrote under `root` the mtime of `root`'s
    site-packages from before, so no fresh timestamp points at what changed."""
    site = f"{root}/lib"
    return (
        f"dm=$(stat -c %Y {site}) && t0=$(date +%s) && {command} && "
        f'find {root} -newermt "@$t0" -exec touch -h -d "@$dm" {{}} +'
    )


def reinstall_dist(dist: str, version: str) -> str:
    return f"{PIP} install --no-cache-dir --force-reinstall --no-deps {q(f'{dist}=={version}')}"


@register
class DistRemoved(FaultFamily):
    name = "dist-removed"
    category = FaultCategory.DEPENDENCIES
    description = "a Python dependency the project needs is not installed"
    needs_network = True

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [
            self.target(f"dist:{d}", users, version=v, site=site_packages(ctx))
            for d, v, users in third_party(ctx)
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        dist = target.resource[5:]
        return [backdated(f"{PIP} uninstall -y -q {q(dist)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [reinstall_dist(target.resource[5:], target.param("version"))]


@register
class DistMetadataBroken(FaultFamily):
    name = "dist-metadata-broken"
    category = FaultCategory.DEPENDENCIES
    description = "an installed distribution's metadata is damaged"
    needs_network = True

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        # Only code that reads distribution metadata notices: tests that ran importlib.metadata
        # (version lookups, entry points), whichever distribution they asked about.
        readers = ctx.subset(
            u
            for key in ctx.resources("module")
            if key.startswith("module:importlib.metadata")
            for u in ctx.users(key)
        )
        out = []
        project = ctx.gold.source.name
        for dist, version in ctx.impact.dist_versions.items():
            if not readers or dist.lower() in _TOOLING or not ctx.users(f"dist:{dist}"):
                continue
            out.append(
                self.target(
                    f"dist:{dist}",
                    readers,
                    version=version,
                    site=site_packages(ctx),
                    project=str(dist == project),
                )
            )
        return out

    def _find_dist_info(self, target: FaultTarget) -> str:
        """Shell that sets $d to the dist-info directory (named after the normalised name)."""
        dist = target.resource[5:].replace("-", "_")
        pattern = f"/{dist}-{target.param('version')}.dist-info$"
        return (
            f"d=$(ls -d {q(target.param('site'))}/*.dist-info 2>/dev/null | "
            f'grep -i {q(pattern)} | head -n1) && test -n "$d"'
        )

    def steps(self, target: FaultTarget) -> list[str]:
        edit = "sed -i -e '/^Version:/d' -e 's/^Name: .*/Name: UNKNOWN/' \"$d/METADATA\""
        return [
            f'{self._find_dist_info(target)} && m=$(stat -c %Y "$d/METADATA") && {edit} '
            f'&& touch -d @$m "$d/METADATA"'
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        # pip itself chokes on a distribution without a version: remove the record first
        dist, version = target.resource[5:], target.param("version")
        remove = f'{self._find_dist_info(target)} && rm -rf "$d"'
        if target.param("project") == "True":
            return [f"{remove} && cd /app && {PIP} install -q --no-cache-dir --no-deps -e ."]
        return [f"{remove} && {reinstall_dist(dist, version)}"]


@register
class ModuleShadowedInStdlib(FaultFamily):
    name = "module-shadowed"
    category = FaultCategory.DEPENDENCIES
    description = "a stray module shadows a dependency on the import path"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        stdlib = ctx.impact.paths.get("stdlib", "")
        out = []
        for dist, _, users in third_party(ctx):
            for module in top_level_modules(ctx, dist)[:1]:
                out.append(
                    self.target(
                        f"dist:{dist}",
                        users,
                        module=module,
                        path=os.path.join(stdlib, f"{module}.py"),
                    )
                )
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        path = target.param("path")
        body = f'"""Compatibility shim for {target.param("module")} (deprecated)."""'
        return [keep_dir_mtime(path, f"printf '%s\\n' {q(body)} > {q(path)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {q(target.param('path'))}"]


@register
class PthModuleBlocked(FaultFamily):
    name = "pth-module-blocked"
    category = FaultCategory.DEPENDENCIES
    description = "a .pth file in site-packages disables a module at start-up"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        site = site_packages(ctx)
        for dist, _, users in third_party(ctx):
            for module in top_level_modules(ctx, dist)[:1]:
                out.append(self.target(f"dist:{dist}", users, module=module, site=site))
        for key, module, path in ctx.modules():
            if (
                path.endswith(".so")
                and "lib-dynload" in path
                and key not in ctx.impact.global_resources
            ):
                out.append(self.target(key, ctx.subset(ctx.users(key)), module=module, site=site))
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        pth = f"{target.param('site')}/00-site-local.pth"
        line = f"import sys; sys.modules[{target.param('module')!r}] = None"
        return [keep_dir_mtime(pth, f"printf '%s\\n' {q(line)} > {q(pth)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {q(target.param('site'))}/00-site-local.pth"]


@register
class DistDowngraded(FaultFamily):
    name = "dist-downgraded"
    category = FaultCategory.DEPENDENCIES
    description = "a dependency was downgraded to an incompatible old release"
    needs_network = True

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        for dist, version, users in third_party(ctx):
            old = ctx.older_release(dist, version)
            if old:
                out.append(
                    self.target(
                        f"dist:{dist}", users, version=version, old=old, site=site_packages(ctx)
                    )
                )
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        spec = f"{target.resource[5:]}=={target.param('old')}"
        return [backdated(f"{PIP} install -q --no-cache-dir --no-deps {q(spec)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [reinstall_dist(target.resource[5:], target.param("version"))]
