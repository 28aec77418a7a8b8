"""Interpreter and tool faults: bytecode caches, the stdlib, codecs, start-up hooks, commands."""

from __future__ import annotations

import os

from cligym.faults.base import FaultContext, FaultFamily, FaultParams, layout_of, register
from cligym.faults.shell import cut_short, keep_dir_mtime, keep_mtime, q, reinstall
from cligym.faults.targets import commands, env_targets, third_party, top_level_modules
from cligym.records import FaultCategory, FaultTarget, ResourceKey, ResourceKind

# dpkg and apt run these: without them the package that provides them cannot be reinstalled.
PACKAGING_TOOLS = frozenset(
    {
        "tar",
        "gzip",
        "xz",
        "zstd",
        "dpkg",
        "dpkg-deb",
        "apt",
        "apt-get",
        "sh",
        "bash",
        "dash",
        "rm",
        "mv",
        "cp",
        "ln",
        "sed",
        "grep",
        "find",
        "perl",
        "gpgv",
        "diff",
        "cat",
        "chmod",
        "mkdir",
    }
)

# Compiles a *truncated* copy of a module (its first half of top-level statements) into the
# module's own bytecode cache, stamped with the source's mtime and size, so Python trusts it.
_POISON_PYC = (
    "import ast,importlib.util as u,importlib._bootstrap_external as e,os,sys;"
    "p=sys.argv[1];s=os.stat(p);t=ast.parse(open(p,'rb').read());"
    "t.body=t.body[:max(1,len(t.body)//2)];c=compile(t,p,'exec');"
    "o=u.cache_from_source(p);os.makedirs(os.path.dirname(o),exist_ok=True);"
    "k=os.stat(o) if os.path.exists(o) else s;"
    "open(o,'wb').write(e._code_to_timestamp_pyc(c,int(s.st_mtime),s.st_size));"
    "os.utime(o,(k.st_atime,k.st_mtime))"
)


def reinstall_stdlib(path: str) -> str:
    """Debian splits the standard library over libpythonX.Y-minimal and -stdlib."""
    version = next((part[6:] for part in path.split("/") if part.startswith("python3.")), "3")
    return reinstall(f"libpython{version}-minimal libpython{version}-stdlib")


def stdlib_modules(ctx: FaultContext) -> list[tuple[str, str, tuple[str, ...]]]:
    """(module, .py file, users) of pure-Python stdlib modules used by a subset of tests."""
    stdlib = ctx.impact.paths.get("stdlib", "/usr/lib/python3")
    out = []
    for key, module, path in ctx.modules():
        if (
            path.startswith(stdlib + "/")
            and path.endswith(".py")
            and "site-packages" not in path
            and key not in ctx.impact.global_resources
            and not module.startswith("encodings")
        ):
            users = ctx.subset(ctx.users(key))
            if users and len(users) < len(ctx.stable):
                out.append((module, path, users))
    return out


class ModuleFile(FaultParams):
    path: str  # the module's source file


class BytecodeParams(ModuleFile):
    version: str = ""  # the distribution's release (dependencies only)


class StdlibFile(ModuleFile):
    owner: str  # the Debian package (recorded; the repair reinstalls both stdlib packages)


class HookParams(FaultParams):
    value: str  # what the hook sets the variable to
    path: str  # the sitecustomize.py the interpreter imports


class CommandOwner(FaultParams):
    owner: str  # the Debian package that installs the command ("" when unknown)


@register
class StaleBytecode(FaultFamily):
    name = "stale-bytecode"
    category = FaultCategory.INTERPRETER
    description = "a cached .pyc file does not match its module's source"
    variant_group = "stdlib-module"
    params_type = BytecodeParams

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        for dist, version, users in third_party(ctx):
            for module in top_level_modules(ctx, dist)[:1]:
                path = ctx.impact.module_files.get(module, "")
                if path.endswith(".py"):
                    params = BytecodeParams(path=path, version=version)
                    out.append(self.target(ResourceKey(ResourceKind.DIST, dist), users, params))
        for module, path, users in stdlib_modules(ctx)[:12]:
            out.append(
                self.target(
                    ResourceKey(ResourceKind.MODULE, module), users, BytecodeParams(path=path)
                )
            )
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        path = BytecodeParams.of(target).path
        pyc_dir = os.path.join(os.path.dirname(path), "__pycache__")
        return [
            f"dm=$(stat -c %Y {q(pyc_dir)} 2>/dev/null || stat -c %Y {q(os.path.dirname(path))})"
            f" && {layout_of(target).python} -c {q(_POISON_PYC)} {q(path)}"
            f" && touch -d @$dm {q(pyc_dir)}"
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        path = BytecodeParams.of(target).path
        return [f"{layout_of(target).python} -m py_compile {q(path)}"]


@register
class StdlibModuleTruncated(FaultFamily):
    name = "stdlib-module-truncated"
    category = FaultCategory.INTERPRETER
    description = "a module of Python's standard library was cut short"
    variant_group = "stdlib-module"
    needs_network = True
    params_type = StdlibFile

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [
            self.target(ResourceKey(ResourceKind.MODULE, m), users, StdlibFile(path=path, owner=""))
            for m, path, users in stdlib_modules(ctx)
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        path = StdlibFile.of(target).path
        return [cut_short(path, 2)]

    def solution(self, target: FaultTarget) -> list[str]:
        return [reinstall_stdlib(StdlibFile.of(target).path)]


@register
class CodecBroken(FaultFamily):
    name = "codec-broken"
    category = FaultCategory.INTERPRETER
    description = "a text codec of the standard library is broken"
    variant_group = "stdlib-module"
    needs_network = True
    params_type = ModuleFile

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        for key, module, path in ctx.modules():
            if (
                module.startswith("encodings.")
                and key not in ctx.impact.global_resources
                and path.endswith(".py")
                and module != "encodings.utf_8"
            ):
                out.append(self.target(key, ctx.subset(ctx.users(key)), ModuleFile(path=path)))
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        path = ModuleFile.of(target).path
        lines = ["def getregentry():", "    raise LookupError('codec registry entry is corrupt')"]
        body = " ".join(q(line) for line in lines)
        return [keep_mtime(path, f"printf '%s\\n' {body} >> {q(path)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [reinstall_stdlib(ModuleFile.of(target).path)]


@register
class SitecustomizeEnv(FaultFamily):
    name = "sitecustomize-hook"
    category = FaultCategory.INTERPRETER
    description = "a start-up hook of the interpreter changes the environment of every program"
    params_type = HookParams

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        # Debian links <stdlib>/sitecustomize.py to /etc/python3.X/sitecustomize.py; elsewhere
        # the file may not exist yet. Either way the interpreter imports it at start-up.
        path = ctx.impact.paths.get("stdlib", "/usr/lib/python3") + "/sitecustomize.py"
        return [
            self.target(
                ResourceKey(ResourceKind.ENV, var), users, HookParams(value=value, path=path)
            )
            for var, value, users in env_targets(ctx)
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        params = HookParams.of(target)
        path = params.path
        line = f"import os; os.environ[{target.resource.name!r}] = {params.value!r}"
        append = f"printf '%s\\n' {q(line)} >> {q(path)}"
        return [
            f"{{ test -e {q(path)} || {{ : > {q(path)} && touch -r {q(os.path.dirname(path))} "
            f"{q(path)}; }}; }} && real=$(readlink -f {q(path)}) && "
            + keep_mtime('"$real"', append, expr=True)
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        var = target.resource.name
        path = q(HookParams.of(target).path)
        return [f'sed -i "/os.environ\\[\'{var}\'\\]/d" "$(readlink -f {path})"']


@register
class CommandMissing(FaultFamily):
    name = "command-missing"
    category = FaultCategory.INTERPRETER
    description = "a system command the project runs is not installed"
    needs_network = True
    params_type = CommandOwner

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [
            self.target(
                ResourceKey(ResourceKind.EXE, path),
                users,
                CommandOwner(owner=ctx.impact.owners.get(path, "")),
            )
            for name, path, users in commands(ctx)
            if name not in PACKAGING_TOOLS
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        path = target.resource.name
        return [keep_dir_mtime(path, f"rm -f {q(path)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        owner = CommandOwner.of(target).owner or os.path.basename(target.resource.name)
        return [reinstall(owner)]
