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
        site = target.param("site")
        dist = target.resource[5:]
        return [
            f"dm=$(stat -c %Y {q(site)}) && {PIP} uninstall -y -q {q(dist)} "
            f"&& touch -d @$dm {q(site)}"
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        return [reinstall_dist(target.resource[5:], target.param("version"))]


@register
class DistMetadataBroken(FaultFamily):
    name = "dist-metadata-broken"
    category = FaultCategory.DEPENDENCIES
    description = "an installed distribution's metadata is damaged"
    needs_network = True

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        project = ctx.gold.source.name
        for dist, version in ctx.impact.dist_versions.items():
            users = ctx.users(f"dist:{dist}")
            if not users or dist.lower() in _TOOLING:
                continue
            out.append(
                self.target(
                    f"dist:{dist}",
                    ctx.subset(users),
                    version=version,
                    site=site_packages(ctx),
                    project=str(dist == project),
                )
            )
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        dist = target.resource[5:].replace("-", "_")
        version = target.param("version")
        # dist-info directories use the normalised name; match it case-insensitively.
        find = (
            f"f=$(ls -d {q(target.param('site'))}/*.dist-info 2>/dev/null | "
            f"grep -i {q(f'/{dist}-{version}.dist-info$')} | head -n1)/METADATA"
        )
        edit = "sed -i -e '/^Version:/d' -e 's/^Name: .*/Name: UNKNOWN/' \"$f\""
        return [f'{find} && m=$(stat -c %Y "$f") && {edit} && touch -d @$m "$f"']

    def solution(self, target: FaultTarget) -> list[str]:
        dist, version = target.resource[5:], target.param("version")
        if target.param("project") == "True":
            return [f"cd /app && {PIP} install --no-cache-dir --no-deps --force-reinstall -e ."]
        return [reinstall_dist(dist, version)]


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
        for key in ctx.resources("module"):
            module = key[7:]
            path = ctx.impact.module_files.get(module, "")
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
        site = target.param("site")
        return [
            f"dm=$(stat -c %Y {q(site)}) && {PIP} install -q --no-cache-dir --no-deps "
            f"{q(spec)} && touch -d @$dm {q(site)}"
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        return [reinstall_dist(target.resource[5:], target.param("version"))]
