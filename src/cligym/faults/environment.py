"""Environment faults: what a login shell of the test user picks up (profile files, PATH).

Tests run in a login shell (`bash -lc`), as a person at a terminal would; /etc/profile.d/*.sh and
~/.profile are where a bad `export` lives, and where a repair agent has to look.
"""

from __future__ import annotations

from cligym.faults.base import FaultContext, FaultFamily, FaultParams, layout_of, register
from cligym.faults.shell import keep_dir_mtime, q
from cligym.faults.targets import commands, env_targets, third_party, top_level_modules
from cligym.records import FaultCategory, FaultTarget, ResourceKey, ResourceKind
from cligym.testbed.layout import TEST_USER

PROFILE_D = "/etc/profile.d"
# Imported by the interpreter itself before any test code: shadowing them breaks every program.
STARTUP_MODULES = frozenset(
    {
        "encodings",
        "codecs",
        "io",
        "abc",
        "site",
        "os",
        "stat",
        "posixpath",
        "genericpath",
        "types",
        "warnings",
        "enum",
        "re",
        "functools",
        "operator",
        "keyword",
        "reprlib",
        "collections",
        "copyreg",
        "sitecustomize",
        "importlib",
        "weakref",
        "linecache",
        "tokenize",
        "token",
        "traceback",
        "contextlib",
        "inspect",
        "dis",
        "ast",
        "typing",
        "textwrap",
        "locale",
    }
)
USER_BIN = f"/home/{TEST_USER}/.local/bin"  # Debian's ~/.profile puts it first on PATH


def profile_script(name: str, lines: list[str]) -> str:
    """A login script, dated like its directory was: the newest files do not point at it."""
    path = f"{PROFILE_D}/{name}"
    body = " ".join(q(line) for line in lines)
    return keep_dir_mtime(path, f"printf '%s\\n' {body} > {q(path)}")


class ShadowedCommand(FaultParams):
    real: str  # the program the name resolves to in gold


class PoisonedVariable(FaultParams):
    value: str  # what the login script exports


class ShadowedModule(FaultParams):
    module: str


class ImpostorLibrary(FaultParams):
    soname: str  # the name the loader looks for
    impostor: str  # another library's file, copied under that name


@register
class CommandShadowedOnPath(FaultFamily):
    name = "command-shadowed-on-path"
    category = FaultCategory.ENVIRONMENT
    description = "a different program with the same name comes first on PATH"
    params_type = ShadowedCommand

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [
            self.target(ResourceKey(ResourceKind.PATH, name), users, ShadowedCommand(real=path))
            for name, path, users in commands(ctx)
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        name = target.resource.name
        shim = f"{USER_BIN}/{name}"
        lines = ["#!/bin/sh", f"echo \"{name}: invalid option -- '$1'\" >&2", "exit 64"]
        body = " ".join(q(line) for line in lines)
        home = f"/home/{TEST_USER}"
        return [
            f"dm=$(stat -c %Y {home}) && "
            f"mkdir -p {q(USER_BIN)} && printf '%s\\n' {body} > {q(shim)} && chmod 755 {q(shim)} "
            f"&& chown -R {TEST_USER}:{TEST_USER} {home}/.local "
            f"&& touch -d @$dm {q(shim)} {q(USER_BIN)} {home}/.local {home}"
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {q(USER_BIN)}/{q(target.resource.name)}"]


@register
class PathTruncated(FaultFamily):
    name = "path-truncated"
    category = FaultCategory.ENVIRONMENT
    description = "a login script exports a PATH that lacks the system directories"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        cmds = commands(ctx)
        users = ctx.subset(u for _, _, us in cmds for u in us)
        return [self.target(ResourceKey(ResourceKind.ENV, "PATH"), users)] if users else []

    def steps(self, target: FaultTarget) -> list[str]:
        env = layout_of(target).env_dir
        return [profile_script("zz-local-path.sh", [f'export PATH="{env}/bin:/usr/local/bin"'])]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {PROFILE_D}/zz-local-path.sh"]


@register
class ProfileEnvPoisoned(FaultFamily):
    name = "profile-env-poisoned"
    category = FaultCategory.ENVIRONMENT
    description = "a login script exports an environment variable with a bad value"
    params_type = PoisonedVariable

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [
            self.target(ResourceKey(ResourceKind.ENV, var), users, PoisonedVariable(value=value))
            for var, value, users in env_targets(ctx)
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        var = target.resource.name
        value = PoisonedVariable.of(target).value
        return [profile_script(f"zz-{var.lower()}.sh", [f"export {var}={value}"])]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {PROFILE_D}/zz-{target.resource.name.lower()}.sh"]


def conda_hook(target: FaultTarget) -> str:
    """Where conda runs a package's activation script from on every `conda activate`."""
    name = f"{target.resource.name.lower()}_activate.sh"
    return f"{layout_of(target).env_dir}/etc/conda/activate.d/{name}"


def _conda_variable_targets(fam: FaultFamily, ctx: FaultContext) -> list[FaultTarget]:
    """The poisoned variables of `env_targets`, where a conda activation sets them."""
    if ctx.gold.layout.env_kind != "conda":
        return []
    return [
        fam.target(ResourceKey(ResourceKind.ENV, var), users, PoisonedVariable(value=value))
        for var, value, users in env_targets(ctx)
    ]


@register
class CondaActivateHookPoisoned(FaultFamily):
    """conda runs `$CONDA_PREFIX/etc/conda/activate.d/*.sh` on every activation; packages ship
    such scripts (conda-forge's openssl sets SSL_CERT_FILE there). The variable comes back in
    every new shell, and nothing in the login scripts or the project shows where from."""

    name = "conda-activate-hook"
    category = FaultCategory.ENVIRONMENT
    description = "a conda activation script of the environment exports a variable with a bad value"
    params_type = PoisonedVariable

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return _conda_variable_targets(self, ctx)

    def steps(self, target: FaultTarget) -> list[str]:
        hook, var = conda_hook(target), target.resource.name
        value = PoisonedVariable.of(target).value
        env = layout_of(target).env_dir
        # etc/conda/activate.d may be new: it, the hook and the directories above it take the
        # environment's own date, so no fresh timestamp points at the hook
        dirs = [f"{env}/etc/conda/activate.d", f"{env}/etc/conda", f"{env}/etc", env]
        return [
            f"m=$(stat -c %Y {q(env)}) && mkdir -p {q(dirs[0])} && "
            f"printf '%s\\n' {q(f'export {var}={value}')} > {q(hook)} && "
            f"touch -h -d @$m {q(hook)} {' '.join(q(d) for d in dirs)}"
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {q(conda_hook(target))}"]


def conda_state(target: FaultTarget) -> str:
    """The environment's state file: `conda env config vars set` keeps its variables there."""
    return f"{layout_of(target).env_dir}/conda-meta/state"


# The environment's own Python edits the state file as conda does (`json.dump` of the whole
# state): other keys and variables stay.
_STATE_SET = (
    "import json, os, sys; p, var, value = sys.argv[1:]; "
    "d = json.load(open(p)) if os.path.exists(p) else {}; "
    "d.setdefault('env_vars', {})[var] = value; json.dump(d, open(p, 'w'))"
)
_STATE_UNSET = (
    "import json, sys; p, var = sys.argv[1:]; d = json.load(open(p)); "
    "d.get('env_vars', {}).pop(var, None); json.dump(d, open(p, 'w'))"
)


@register
class CondaEnvVarsPoisoned(FaultFamily):
    """`conda env config vars set VAR=value` stores the variable in the environment's
    `conda-meta/state`, and every `conda activate` exports it (before the activate.d scripts).
    Nothing in a shell script holds it: `grep -r` over the login scripts and activate.d finds
    nothing, `conda env config vars list` (or the state file) does."""

    name = "conda-env-vars"
    category = FaultCategory.ENVIRONMENT
    description = "the conda environment's saved variables export one with a bad value"
    params_type = PoisonedVariable

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return _conda_variable_targets(self, ctx)

    def steps(self, target: FaultTarget) -> list[str]:
        state, var = conda_state(target), target.resource.name
        env = layout_of(target).env_dir
        value = PoisonedVariable.of(target).value
        edit = f"{q(env)}/bin/python -c {q(_STATE_SET)} {q(state)} {q(var)} {q(value)}"
        # the state file and conda-meta keep the environment's own date
        return [
            f"m=$(stat -c %Y {q(env)}) && {edit} && "
            f"touch -h -d @$m {q(state)} {q(env)}/conda-meta {q(env)}"
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        env = layout_of(target).env_dir
        state, var = conda_state(target), target.resource.name
        return [f"{q(env)}/bin/python -c {q(_STATE_UNSET)} {q(state)} {q(var)}"]


class ShadowEnv(FaultParams):
    python: str  # the environment's interpreter name (python3.11): the shadow has its own


@register
class CondaEnvShadowed(FaultFamily):
    """conda finds a named environment in its envs directories in order, and for a user who
    cannot write the root prefix (its `conda-meta/history`) `~/.conda/envs` comes before the
    root's `envs/`. Someone ran `conda create -n NAME python=X.Y` as the test user: that bare
    environment, with its own interpreter and nothing installed, is what `conda activate NAME`
    now activates. The error says pytest or a dependency is missing; `conda env list` shows
    two environments of one name, `which python` the wrong one."""

    name = "conda-env-shadowed"
    category = FaultCategory.ENVIRONMENT
    description = "an environment of the same name in the user's conda envs directory comes first"
    params_type = ShadowEnv

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        layout = ctx.gold.layout
        stdlib = ctx.impact.paths.get("stdlib", "")
        env = layout.env_dir.rstrip("/")
        if layout.env_kind != "conda" or env.rsplit("/", 2)[-2:-1] != ["envs"]:
            return []
        if not stdlib.startswith(f"{env}/lib/python3"):  # the env has its own interpreter
            return []
        users = ctx.subset(ctx.stable)
        name = env.rsplit("/", 1)[-1]
        # where `conda create -n NAME` puts it for a user who cannot write the root prefix
        target = self.target(
            ResourceKey(ResourceKind.DIR, f"/home/{TEST_USER}/.conda/envs/{name}"),
            users,
            ShadowEnv(python=stdlib.rsplit("/", 1)[-1]),
        )
        return [target] if users else []

    def steps(self, target: FaultTarget) -> list[str]:
        env, shadow = layout_of(target).env_dir, target.resource.name
        py = ShadowEnv.of(target).python
        name, home = shadow.rsplit("/", 1)[-1], f"/home/{TEST_USER}"
        spec = py.replace("python", "python=")
        # printf's escapes, not newlines: a step is one line
        history = f"==> 2024-03-02 09:14:51 <==\\n# cmd: conda create -n {name} {spec}\\n"
        e, s = q(env), q(shadow)
        # its own interpreter, standard library and libraries, nothing in site-packages
        copy_lib = (
            f"(cd {e}/lib && tar -cf - --exclude={q(py)}/site-packages {q(py)} "
            f"$(find . -maxdepth 1 -name 'lib*.so*' -printf '%P ')) | tar -C {s}/lib -xf -"
        )
        return [
            f"dm=$(stat -c %Y {home}) && m=$(stat -c %Y {e}) && "
            f"mkdir -p {s}/bin {s}/lib/{q(py)}/site-packages {s}/conda-meta && "
            f"cp -a {e}/bin/{q(py)} {s}/bin/ && ln -sfn {q(py)} {s}/bin/python3 && "
            f"ln -sfn {q(py)} {s}/bin/python && {copy_lib} && "
            f"printf {q(history)} > {s}/conda-meta/history && "
            f"echo {s} >> {home}/.conda/environments.txt && "
            f"chown -R {TEST_USER}:{TEST_USER} {home}/.conda && "
            f"find {home}/.conda -exec touch -h -d @$m {{}} + && touch -d @$dm {home}"
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -rf {q(target.resource.name)}"]


@register
class PythonpathShadow(FaultFamily):
    name = "pythonpath-shadow"
    category = FaultCategory.ENVIRONMENT
    description = "PYTHONPATH from a login script puts a stale copy of a module first"
    variant_group = "stdlib-module"
    params_type = ShadowedModule

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        for dist, _, users in third_party(ctx):
            for module in top_level_modules(ctx, dist)[:1]:
                out.append(
                    self.target(
                        ResourceKey(ResourceKind.DIST, dist), users, ShadowedModule(module=module)
                    )
                )
        for key, module, path in ctx.modules():
            stdlib = ctx.impact.paths.get("stdlib", "/usr/lib/python3")
            users = ctx.users(key)
            if (
                "." not in module
                and path.startswith(stdlib + "/")
                and not module.startswith("_")
                and module not in STARTUP_MODULES
                and 0 < len(users) < len(ctx.stable)
                and key not in ctx.impact.global_resources
                and ctx.users(key)
            ):
                out.append(self.target(key, ctx.subset(users), ShadowedModule(module=module)))
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        module = ShadowedModule.of(target).module
        shim_dir = "/usr/local/lib/python-compat"
        body = f'"""{module}: legacy compatibility layer."""'
        return [
            f"dm=$(stat -c %Y /usr/local/lib) && mkdir -p {shim_dir} && "
            f"printf '%s\\n' {q(body)} > {shim_dir}/{q(module)}.py && "
            f"touch -d @$dm {shim_dir}/{q(module)}.py {shim_dir} /usr/local/lib",
            profile_script("zz-pythonpath.sh", [f"export PYTHONPATH={shim_dir}"]),
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {PROFILE_D}/zz-pythonpath.sh"]


@register
class LdLibraryPathShadow(FaultFamily):
    name = "ld-library-path-shadow"
    category = FaultCategory.ENVIRONMENT
    description = "LD_LIBRARY_PATH from a login script points at an incompatible library"
    params_type = ImpostorLibrary

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        libs = ctx.lib_resources()
        out = []
        for real, soname, users in libs:
            impostor = next((r for r, _, _ in libs if r != real), "")
            if impostor:
                params = ImpostorLibrary(soname=soname, impostor=impostor)
                out.append(self.target(ResourceKey(ResourceKind.LIB, real), users, params))
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        params = ImpostorLibrary.of(target)
        libdir = "/opt/compat/lib"
        return [
            f"mkdir -p {libdir} && cp -p {q(params.impostor)} {libdir}/{q(params.soname)}",
            profile_script("zz-ld-library-path.sh", [f"export LD_LIBRARY_PATH={libdir}"]),
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {PROFILE_D}/zz-ld-library-path.sh"]


class LoginLimit(FaultParams):
    value: str


@register
class UmaskRestrictive(FaultFamily):
    name = "umask-restrictive"
    category = FaultCategory.ENVIRONMENT
    description = "a login script sets a file-creation mask that leaves new files unwritable"
    params_type = LoginLimit

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        # every test that creates a file or directory (pytest's tmp_path among them) fails
        # with a PermissionError far from its cause: /tmp looks broken, it is not
        return [self.target(ResourceKey(ResourceKind.ENV, "umask"), ctx.stable,
                            LoginLimit(value="0277"))]

    def steps(self, target: FaultTarget) -> list[str]:
        value = LoginLimit.of(target).value
        return [profile_script("hardening.sh", ["# restrictive default permissions",
                                                f"umask {value}"])]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {PROFILE_D}/hardening.sh"]


@register
class OpenFilesLimited(FaultFamily):
    name = "open-files-limited"
    category = FaultCategory.ENVIRONMENT
    description = "a login script lowers the limit on open files below what the tests need"
    params_type = LoginLimit

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        # "Too many open files" reads like a leak in the code under test; the limit was set
        # at login. Which tests cross it depends on the suite: the attempt measures it.
        return [
            self.target(ResourceKey(ResourceKind.ENV, "nofile"), ctx.stable,
                        LoginLimit(value=str(n)))
            for n in (14,)
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        value = LoginLimit.of(target).value
        return [profile_script("limits.sh", ["# per-session resource limits",
                                             f"ulimit -Sn {value}"])]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {PROFILE_D}/limits.sh"]
