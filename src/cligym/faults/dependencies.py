"""Dependency faults: third-party distributions the tests use (not the project, not pytest)."""

from __future__ import annotations

import os

from cligym.faults.base import FaultContext, FaultFamily, FaultParams, layout_of, register
from cligym.faults.shell import (
    backdated,
    cut_short,
    keep_dir_mtime,
    pip,
    q,
    reinstall_dist,
)
from cligym.faults.targets import TOOLING, site_packages, third_party, top_level_modules
from cligym.records import FaultCategory, FaultTarget, ResourceKey, ResourceKind


class Installed(FaultParams):
    """The release installed in gold, and the site-packages it is in."""

    version: str
    site: str


class MetadataParams(Installed):
    project: bool = False  # the project itself (installed editable), not a dependency


class ModuleShadowParams(FaultParams):
    module: str
    path: str  # where the stray module goes


class PthParams(FaultParams):
    module: str
    site: str


class DowngradeParams(Installed):
    old: str  # the older release installed instead


@register
class DistRemoved(FaultFamily):
    name = "dist-removed"
    category = FaultCategory.DEPENDENCIES
    description = "a Python dependency the project needs is not installed"
    needs_network = True
    params_type = Installed

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [
            self.target(
                ResourceKey(ResourceKind.DIST, d),
                users,
                Installed(version=v, site=site_packages(ctx)),
            )
            for d, v, users in third_party(ctx)
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        dist, layout = target.resource.name, layout_of(target)
        return [backdated(f"{pip(layout)} uninstall -y -q {q(dist)}", layout.env_dir)]

    def solution(self, target: FaultTarget) -> list[str]:
        version = Installed.of(target).version
        return [reinstall_dist(target.resource.name, version, layout_of(target))]


class FilesParams(Installed):
    paths: str  # the distribution's top-level packages and modules, space-separated


def _module_files(ctx: FaultContext) -> list[tuple[str, str, tuple[str, ...], list[str]]]:
    """(distribution, version, users, its top-level module files in site-packages) of the
    third-party distributions tests use: `pkg/__init__.py` for a package, `mod.py` for a
    module (no path with a space: steps take them as words)."""
    site = site_packages(ctx)
    out = []
    for dist, version, users in third_party(ctx):
        files = [
            path
            for module in top_level_modules(ctx, dist)
            if (path := ctx.impact.module_files.get(module, "")).startswith(site + "/")
            and " " not in path
            and path.count("/") <= site.count("/") + 2
        ]
        out.append((dist, version, users, files))
    return out


class _DistFilesFault(FaultFamily):
    """A fault on a dependency's files whose repair reinstalls its gold release."""

    category = FaultCategory.DEPENDENCIES
    needs_network = True
    params_type = FilesParams

    def solution(self, target: FaultTarget) -> list[str]:
        version = FilesParams.of(target).version
        return [reinstall_dist(target.resource.name, version, layout_of(target))]


@register
class DistFilesMissing(_DistFilesFault):
    """An interrupted upgrade: the old files were removed, the new ones never written, and the
    metadata still says installed. `pip install` answers "Requirement already satisfied"."""

    name = "dist-files-missing"
    description = "a dependency's files are gone while pip still lists it as installed"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        site = site_packages(ctx)
        out = []
        for dist, version, users, files in _module_files(ctx):
            # a package goes whole, a module file alone
            paths = [f[: -len("/__init__.py")] if f.endswith("/__init__.py") else f for f in files]
            paths = [p for p in paths if p.count("/") == site.count("/") + 1]
            if paths:
                params = FilesParams(version=version, site=site, paths=" ".join(paths))
                out.append(self.target(ResourceKey(ResourceKind.DIST, dist), users, params))
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        paths = FilesParams.of(target).paths.split()
        return [keep_dir_mtime(paths[0], f"rm -rf {' '.join(q(p) for p in paths)}")]


@register
class DistFileTruncated(_DistFilesFault):
    """A disk that filled up during an upgrade: a dependency's package module was written
    halfway. The error points into site-packages; pip still calls the release installed."""

    name = "dist-file-truncated"
    description = "a file of an installed dependency was cut short"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        site = site_packages(ctx)
        return [
            self.target(
                ResourceKey(ResourceKind.DIST, dist),
                users,
                FilesParams(version=version, site=site, paths=files[0]),
            )
            for dist, version, users, files in _module_files(ctx)
            if files and files[0].endswith(".py")
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        path = FilesParams.of(target).paths
        # (its cached bytecode records the source's size: Python compiles the cut source)
        return [cut_short(path, 2)]


@register
class DistMetadataBroken(FaultFamily):
    name = "dist-metadata-broken"
    category = FaultCategory.DEPENDENCIES
    description = "an installed distribution's metadata is damaged"
    sibling_payload = False
    needs_network = True
    params_type = MetadataParams

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        # Only code that reads distribution metadata notices: tests that ran importlib.metadata
        # (version lookups, entry points), whichever distribution they asked about.
        readers = ctx.subset(
            u
            for key in ctx.resources(ResourceKind.MODULE)
            if key.name.startswith("importlib.metadata")
            for u in ctx.users(key)
        )
        out = []
        project = ctx.gold.source.name
        app_url = f"file://{ctx.gold.layout.app_dir}"
        for dist, version in ctx.impact.dist_versions.items():
            url = ctx.impact.direct_urls.get(dist)
            if (
                not readers
                or dist.lower() in TOOLING
                or not ctx.users(ResourceKey(ResourceKind.DIST, dist))
                or (url is not None and url.rstrip("/") != app_url)  # no way to reinstall it
            ):
                continue
            out.append(
                self.target(
                    ResourceKey(ResourceKind.DIST, dist),
                    readers,
                    MetadataParams(
                        version=version,
                        site=site_packages(ctx),
                        project=dist == project or url is not None,
                    ),
                )
            )
        return out

    def _find_dist_info(self, target: FaultTarget) -> str:
        """Shell that sets $d to the dist-info directory (named after the normalised name)."""
        params = MetadataParams.of(target)
        dist = target.resource.name.replace("-", "_")
        pattern = f"/{dist}-{params.version}.dist-info$"
        return (
            f"d=$(ls -d {q(params.site)}/*.dist-info 2>/dev/null | "
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
        params = MetadataParams.of(target)
        remove = f'{self._find_dist_info(target)} && rm -rf "$d"'
        layout = layout_of(target)
        if params.project:
            app, install = q(layout.app_dir), f"{pip(layout)} install -q --no-cache-dir --no-deps"
            return [f"{remove} && cd {app} && {install} -e ."]
        return [f"{remove} && {reinstall_dist(target.resource.name, params.version, layout)}"]


@register
class ModuleShadowedInStdlib(FaultFamily):
    name = "module-shadowed"
    category = FaultCategory.DEPENDENCIES
    description = "a stray module shadows a dependency on the import path"
    params_type = ModuleShadowParams

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        stdlib = ctx.impact.paths.get("stdlib", "")
        out = []
        for dist, _, users in third_party(ctx):
            for module in top_level_modules(ctx, dist)[:1]:
                out.append(
                    self.target(
                        ResourceKey(ResourceKind.DIST, dist),
                        users,
                        ModuleShadowParams(
                            module=module, path=os.path.join(stdlib, f"{module}.py")
                        ),
                    )
                )
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        params = ModuleShadowParams.of(target)
        body = f'"""Compatibility shim for {params.module} (deprecated)."""'
        return [keep_dir_mtime(params.path, f"printf '%s\\n' {q(body)} > {q(params.path)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {q(ModuleShadowParams.of(target).path)}"]


@register
class PthModuleBlocked(FaultFamily):
    name = "pth-module-blocked"
    category = FaultCategory.DEPENDENCIES
    description = "a .pth file in site-packages disables a module at start-up"
    params_type = PthParams

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        site = site_packages(ctx)
        for dist, _, users in third_party(ctx):
            for module in top_level_modules(ctx, dist)[:1]:
                out.append(
                    self.target(
                        ResourceKey(ResourceKind.DIST, dist),
                        users,
                        PthParams(module=module, site=site),
                    )
                )
        for key, module, path in ctx.modules():
            if (
                path.endswith(".so")
                and "lib-dynload" in path
                and key not in ctx.impact.global_resources
            ):
                users = ctx.subset(ctx.users(key))
                out.append(self.target(key, users, PthParams(module=module, site=site)))
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        params = PthParams.of(target)
        pth = f"{params.site}/00-site-local.pth"
        line = f"import sys; sys.modules[{params.module!r}] = None"
        return [keep_dir_mtime(pth, f"printf '%s\\n' {q(line)} > {q(pth)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {q(PthParams.of(target).site)}/00-site-local.pth"]


@register
class DistDowngraded(FaultFamily):
    name = "dist-downgraded"
    category = FaultCategory.DEPENDENCIES
    description = "a dependency was downgraded to an incompatible old release"
    sibling_payload = False
    needs_network = True
    params_type = DowngradeParams

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        for dist, version, users in third_party(ctx):
            old = ctx.older_release(dist, version)
            if old:
                out.append(
                    self.target(
                        ResourceKey(ResourceKind.DIST, dist),
                        users,
                        DowngradeParams(version=version, old=old, site=site_packages(ctx)),
                    )
                )
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        spec = f"{target.resource.name}=={DowngradeParams.of(target).old}"
        layout = layout_of(target)
        install = f"{pip(layout)} install -q --no-cache-dir --no-deps {q(spec)}"
        return [backdated(install, layout.env_dir)]

    def solution(self, target: FaultTarget) -> list[str]:
        version = DowngradeParams.of(target).version
        return [reinstall_dist(target.resource.name, version, layout_of(target))]
