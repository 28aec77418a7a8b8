"""Filesystem faults: modes and ownership (tests run unprivileged, so they matter), links."""

from __future__ import annotations

import os

from cligym.faults.base import FaultContext, FaultFamily, register
from cligym.faults.shell import q
from cligym.faults.targets import (
    commands,
    data_files,
    site_packages,
    third_party,
    top_level_modules,
)
from cligym.records import FaultCategory, FaultTarget, ResourceKey, ResourceKind
from cligym.testbed.layout import TEST_USER


@register
class FileUnreadable(FaultFamily):
    name = "file-unreadable"
    category = FaultCategory.FILESYSTEM
    description = "a file the program reads is not readable by ordinary users"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [
            self.target(ResourceKey(ResourceKind.FILE, path), users)
            for path, users in data_files(ctx)
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        return [f"chmod 0600 {q(target.resource.name)}"]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"chmod 0644 {q(target.resource.name)}"]


@register
class ParentDirLocked(FaultFamily):
    name = "directory-locked"
    category = FaultCategory.FILESYSTEM
    description = "a directory on the way to a needed file cannot be entered by ordinary users"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out: dict[str, tuple[str, ...]] = {}
        for path, users in data_files(ctx):
            parent = os.path.dirname(path)
            if parent.count("/") >= 3:  # never lock /usr/share or /etc itself
                previous = out.get(parent, ())
                out[parent] = ctx.subset({*previous, *users})
        site = site_packages(ctx)
        for dist, _, users in third_party(ctx):
            for module in top_level_modules(ctx, dist)[:1]:
                if ctx.impact.module_files.get(module, "").endswith("__init__.py"):
                    out[f"{site}/{module}"] = users
        return [
            self.target(ResourceKey(ResourceKind.DIR, d), users) for d, users in sorted(out.items())
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        return [f"chmod 0700 {q(target.resource.name)}"]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"chmod 0755 {q(target.resource.name)}"]


@register
class ExecBitRemoved(FaultFamily):
    name = "exec-bit-removed"
    category = FaultCategory.FILESYSTEM
    description = "a program the project runs lost its execute permission"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = [
            self.target(ResourceKey(ResourceKind.EXE, path), users)
            for _, path, users in commands(ctx)
        ]
        for key in ctx.resources(ResourceKind.EXE):
            if key.name.startswith(f"{ctx.gold.layout.env_dir}/bin/"):
                out.append(self.target(key, ctx.subset(ctx.users(key))))
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        return [f"chmod 0644 {q(target.resource.name)}"]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"chmod 0755 {q(target.resource.name)}"]


@register
class TmpNotWritable(FaultFamily):
    name = "tmp-not-writable"
    category = FaultCategory.FILESYSTEM
    description = "the temporary directory is not writable by ordinary users"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [self.target(ResourceKey(ResourceKind.DIR, "/tmp"), ctx.stable)]

    def steps(self, target: FaultTarget) -> list[str]:
        return ["chmod 0755 /tmp"]

    def solution(self, target: FaultTarget) -> list[str]:
        return ["chmod 1777 /tmp"]


@register
class HomeNotOwned(FaultFamily):
    name = "home-not-owned"
    category = FaultCategory.FILESYSTEM
    description = "the user's home directory belongs to someone else"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        users = ctx.users(ResourceKey(ResourceKind.ENV, "HOME")) or ctx.users(
            ResourceKey(ResourceKind.ENV, "XDG_DATA_HOME")
        )
        return (
            [self.target(ResourceKey(ResourceKind.DIR, f"/home/{TEST_USER}"), ctx.subset(users))]
            if users
            else []
        )

    def steps(self, target: FaultTarget) -> list[str]:
        return [f"chown root:root /home/{TEST_USER} && chmod 0755 /home/{TEST_USER}"]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"chown {TEST_USER}:{TEST_USER} /home/{TEST_USER}"]


@register
class VenvInterpreterLinkBroken(FaultFamily):
    name = "venv-link-broken"
    category = FaultCategory.FILESYSTEM
    description = "the virtualenv's python symlink points to an interpreter that is not there"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        layout = ctx.gold.layout
        if layout.env_kind != "venv":  # a conda env's python is a file, not a link
            return []
        bindir = f"{layout.env_dir}/bin/"
        scripts = [k for k in ctx.resources(ResourceKind.EXE) if k.name.startswith(bindir)]
        users = ctx.subset(u for k in scripts for u in ctx.users(k))
        link = ResourceKey(ResourceKind.FILE, f"{bindir}python3")
        return [self.target(link, users)] if users else []

    def steps(self, target: FaultTarget) -> list[str]:
        # scripts' shebangs use <venv>/bin/python -> python3 -> /usr/bin/python3.X
        return [f"ln -sfn /usr/bin/python3.9 {q(target.resource.name)}"]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f'ln -sfn "$(readlink -f /usr/bin/python3)" {q(target.resource.name)}']


@register
class AppReadOnly(FaultFamily):
    name = "app-read-only"
    category = FaultCategory.FILESYSTEM
    description = "the project directory is not writable by the user who runs it"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        users = [
            u
            for k in ctx.resources(ResourceKind.FILE)
            if k.name.startswith(f"{ctx.gold.layout.app_dir}/")
            for u in ctx.users(k)
        ]
        return (
            [self.target(ResourceKey(ResourceKind.DIR, ctx.gold.layout.app_dir), ctx.subset(users))]
            if users
            else []
        )

    def steps(self, target: FaultTarget) -> list[str]:
        app = q(target.resource.name)
        return [f"chown -R root:root {app} && chmod -R go-w {app}"]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"chown -R {TEST_USER}:{TEST_USER} {q(target.resource.name)}"]
