"""Package-manager faults: the tools a repair needs (pip, apt) are themselves broken.

No test touches pip or apt, so none of these fails a test alone. They are *blockers*: the search
joins one to a fault whose specific repair runs the tool it breaks, and the task's solution must
mend the tool first. An agent that goes straight for `pip install` or `apt-get install --reinstall`
meets a second, different error and has to diagnose it: a repair chain. Some blockers raise no
error at all (a dpkg path filter, a pip install target): the repair "succeeds" and the tests
still fail, so the cause has to be found elsewhere. Verification checks that the chain holds
(the payload's repair alone does not restore the tests).
"""

from __future__ import annotations

from typing import ClassVar

from cligym.faults.base import BlockerFamily, FaultContext, FaultParams, layout_of, register
from cligym.faults.shell import keep_dir_mtime, keep_mtime, q
from cligym.faults.targets import commands, site_packages, third_party, top_level_modules
from cligym.records import FaultCategory, FaultTarget, ResourceKey, ResourceKind

DEAD_INDEX = "https://pypi.mirror.internal.invalid/simple"
DEBIAN_MIRROR = "deb.debian.org"
DEAD_MIRROR = "debian.mirror.internal.invalid"
APT_SOURCES = (
    "/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources"
)


class SiteParams(FaultParams):
    site: str


class PinParams(FaultParams):
    version: str  # the gold release, which the pin excludes


@register
class PipUpgradeInterrupted(BlockerFamily):
    name = "pip-upgrade-interrupted"
    category = FaultCategory.PACKAGE_MANAGER
    description = "the virtualenv's pip is half removed, as after an interrupted self-upgrade"
    blocks = "pip"
    params_type = SiteParams

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        site = site_packages(ctx)
        return [self.target(ResourceKey(ResourceKind.DIST, "pip"), (), SiteParams(site=site))]

    def steps(self, target: FaultTarget) -> list[str]:
        pip_dir = f"{SiteParams.of(target).site}/pip"
        return [keep_mtime(pip_dir, f"rm -rf {q(pip_dir + '/_internal')}")]

    def solution(self, target: FaultTarget) -> list[str]:
        site = q(SiteParams.of(target).site)
        # ensurepip installs the interpreter's bundled pip: the very wheel the venv came with
        return [
            f"rm -rf {site}/pip {site}/pip-*.dist-info && {layout_of(target).python} -m ensurepip"
            " >/dev/null"
        ]


@register
class PipIndexUnreachable(BlockerFamily):
    name = "pip-index-unreachable"
    category = FaultCategory.PACKAGE_MANAGER
    description = "pip is configured to use a package index that does not exist"
    blocks = "pip"

    def config_path(self, ctx: FaultContext) -> str:
        return f"{ctx.gold.layout.env_dir}/pip.conf"  # pip reads it from sys.prefix

    def steps(self, target: FaultTarget) -> list[str]:
        # a per-environment configuration, as a decommissioned company mirror leaves behind
        conf = target.resource.name
        text = f"[global]\\nindex-url = {DEAD_INDEX}\\n"
        return [keep_dir_mtime(conf, f"printf '{text}' > {q(conf)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {q(target.resource.name)}"]


@register
class DpkgInterrupted(BlockerFamily):
    name = "dpkg-interrupted"
    category = FaultCategory.PACKAGE_MANAGER
    description = "an earlier dpkg run was interrupted, so apt refuses to install anything"
    blocks = "apt"
    config = "/var/lib/dpkg/updates"

    def steps(self, target: FaultTarget) -> list[str]:
        journal = f"{target.resource.name}/0001"
        return [keep_dir_mtime(journal, f": > {journal}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return ["dpkg --configure -a"]


@register
class AptMirrorUnreachable(BlockerFamily):
    name = "apt-mirror-unreachable"
    category = FaultCategory.PACKAGE_MANAGER
    description = "apt's package sources point at a mirror that does not exist"
    blocks = "apt"
    config = "/etc/apt/sources.list"

    def steps(self, target: FaultTarget) -> list[str]:
        # every sources file that names the Debian mirror, each keeping its mtime; fails (so
        # the attempt is rejected) where the image uses another mirror
        edit = f"sed -i 's#{DEBIAN_MIRROR}#{DEAD_MIRROR}#g' \"$f\""
        return [
            f'n=0; for f in {APT_SOURCES}; do [ -f "$f" ] && grep -q {DEBIAN_MIRROR} "$f" '
            f"|| continue; {keep_mtime('$f', edit, expr=True)} && n=$((n+1)); done; "
            'test "$n" -gt 0'
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        return [
            f'for f in {APT_SOURCES}; do [ -f "$f" ] && '
            f"sed -i 's#{DEAD_MIRROR}#{DEBIAN_MIRROR}#g' \"$f\"; done; true"
        ]


PIP_XDG_DIR = "/etc/xdg/pip"


@register
class PipConstraintPinned(BlockerFamily):
    name = "pip-constraint-pinned"
    category = FaultCategory.PACKAGE_MANAGER
    description = "a pip constraints file in the system configuration pins a dependency too low"
    blocks = "pip"
    aims_at_payload = True
    params_type = PinParams

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [
            self.target(ResourceKey(ResourceKind.DIST, dist), (), PinParams(version=version))
            for dist, version, _ in third_party(ctx)
        ]

    def steps(self, target: FaultTarget) -> list[str]:
        # site-wide settings, as a configuration-management tool writes them; every new path
        # is dated like /etc/profile (a container's /etc is touched at start), /etc keeps its
        pin = f"{target.resource.name}<{PinParams.of(target).version}"
        conf = f"[install]\\nconstraint = {PIP_XDG_DIR}/constraints.txt\\n"
        return [
            f"dm=$(stat -c %Y /etc/profile) && em=$(stat -c %Y /etc) && mkdir -p {PIP_XDG_DIR} "
            f"&& printf '{conf}' > {PIP_XDG_DIR}/pip.conf "
            f"&& printf '%s\\n' {q(pin)} > {PIP_XDG_DIR}/constraints.txt "
            f"&& touch -d @$dm {PIP_XDG_DIR}/pip.conf {PIP_XDG_DIR}/constraints.txt "
            f"{PIP_XDG_DIR} /etc/xdg && touch -d @$em /etc"
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -rf {PIP_XDG_DIR}"]


class RecordParams(FaultParams):
    site: str
    modules: str  # the distribution's top-level modules, comma-separated


@register
class PipRecordMissing(BlockerFamily):
    name = "pip-record-missing"
    category = FaultCategory.PACKAGE_MANAGER
    description = "an installed distribution lost its RECORD file, so pip cannot replace it"
    blocks = "pip"
    aims_at_payload = True
    joins_families = frozenset({"dist-downgraded"})
    params_type = RecordParams

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        site = site_packages(ctx)
        out = []
        for dist, _, _ in third_party(ctx):
            modules = top_level_modules(ctx, dist)
            if modules:
                params = RecordParams(site=site, modules=",".join(modules))
                out.append(self.target(ResourceKey(ResourceKind.DIST, dist), (), params))
        return out

    def _dist_infos(self, target: FaultTarget) -> str:
        """Shell: the distribution's dist-info directories, whatever release is installed."""
        site = RecordParams.of(target).site
        norm = target.resource.name.replace("-", "_")
        return f"ls -d {q(site)}/*.dist-info 2>/dev/null | grep -i {q(f'/{norm}-[^/]*.dist-info$')}"

    def steps(self, target: FaultTarget) -> list[str]:
        # what a crashed install or a hand-made "cleanup" leaves: pip then refuses to uninstall
        return [
            f'd=$({self._dist_infos(target)} | head -n1) && test -n "$d" && '
            'dm=$(stat -c %Y "$d") && rm -f "$d/RECORD" && touch -d @$dm "$d"'
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        params = RecordParams.of(target)
        files = " ".join(
            f"{q(params.site)}/{m} {q(params.site)}/{m}.py" for m in params.modules.split(",")
        )
        return [f"{self._dist_infos(target)} | xargs -r rm -rf && rm -rf {files}"]


APT_PROXY_CONF = "/etc/apt/apt.conf.d/01proxy"
DEAD_PROXY = "http://proxy.internal.invalid:3128"


@register
class AptProxyUnreachable(BlockerFamily):
    name = "apt-proxy-unreachable"
    category = FaultCategory.PACKAGE_MANAGER
    description = "apt is configured to download through a proxy that does not exist"
    blocks = "apt"
    config = APT_PROXY_CONF

    def steps(self, target: FaultTarget) -> list[str]:
        # what a machine moved out of a network with a caching proxy keeps
        conf = target.resource.name
        line = f'Acquire::http::Proxy "{DEAD_PROXY}";'
        return [keep_dir_mtime(conf, f"printf '%s\\n' {q(line)} > {q(conf)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {q(target.resource.name)}"]


TRUSTED_KEYS = "/etc/apt/trusted.gpg.d"
CDROM_LINE = (
    "deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD Binary-1 "
    "20230610-10:23]/ bookworm contrib main"
)


@register
class AptKeyringRemoved(BlockerFamily):
    name = "apt-keyring-removed"
    category = FaultCategory.PACKAGE_MANAGER
    description = "the archive keys apt verifies Debian's packages with are gone"
    blocks = "apt"
    needs_network = True  # the repair fetches the keyring package, unauthenticated at first
    config = TRUSTED_KEYS

    def steps(self, target: FaultTarget) -> list[str]:
        # a "cleanup" of trusted.gpg.d; fails (the attempt is rejected) where the sources name
        # their own keyring, which this would not break
        keys = f"{TRUSTED_KEYS}/debian-archive-*"
        return [
            f"! grep -rqsi signed-by {APT_SOURCES} && ls {keys} >/dev/null && "
            f"dm=$(stat -c %Y {TRUSTED_KEYS}) && rm -f {keys} && touch -d @$dm {TRUSTED_KEYS}"
        ]

    def solution(self, target: FaultTarget) -> list[str]:
        # the keys are conffiles: a plain reinstall leaves deleted conffiles deleted
        return [
            "apt-get -o Acquire::AllowInsecureRepositories=true update -qq && "
            "apt-get install -y -qq --allow-unauthenticated --reinstall "
            "-o Dpkg::Options::=--force-confmiss debian-archive-keyring >/dev/null && "
            "rm -rf /var/lib/apt/lists/*"
        ]


@register
class AptCdromSourceLeft(BlockerFamily):
    name = "apt-cdrom-source-left"
    category = FaultCategory.PACKAGE_MANAGER
    description = "apt's sources still list the installation DVD, so every update fails"
    blocks = "apt"
    config = "/etc/apt/sources.list"

    def steps(self, target: FaultTarget) -> list[str]:
        # what the Debian installer leaves when a machine was installed from DVD
        sources = target.resource.name
        add = f"sed -i '1i {CDROM_LINE}' {sources}"
        return [f"test -s {sources} && {keep_mtime(sources, add)}"]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"sed -i '/^deb cdrom:/d' {q(target.resource.name)}"]


APT_LOCAL_CONF = "/etc/apt/apt.conf.d/99local"


@register
class AptConfSyntaxError(BlockerFamily):
    name = "apt-conf-syntax-error"
    category = FaultCategory.PACKAGE_MANAGER
    description = "a hand-edited apt configuration file has a syntax error"
    blocks = "apt"
    config = APT_LOCAL_CONF

    def steps(self, target: FaultTarget) -> list[str]:
        # a missing semicolon: apt refuses to run at all
        conf = target.resource.name
        text = 'APT::Install-Recommends "false"\\nAPT::Get::Assume-Yes "true";\\n'
        return [keep_dir_mtime(conf, f"printf '{text}' > {q(conf)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"sed -i 's/^APT::Install-Recommends \"false\"$/&;/' {q(target.resource.name)}"]


DPKG_SLIM_CONF = "/etc/dpkg/dpkg.cfg.d/01-slim"


class ExcludeParams(FaultParams):
    pattern: str  # a dpkg path glob (`*` crosses directories) matching the payload's file


@register
class DpkgPathExcluded(BlockerFamily):
    name = "dpkg-path-excluded"
    category = FaultCategory.PACKAGE_MANAGER
    description = "dpkg is configured to skip some files, so reinstalling a package drops them"
    blocks = "apt"
    aims_at_payload = True
    params_type = ExcludeParams

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        # the resources of the faults whose repair reinstalls a Debian package (apart from the
        # stdlib variants, never chained): zone files, libraries, extension modules, commands
        out = []
        for key in ctx.resources(ResourceKind.FILE):
            if key.name.startswith("/usr/share/zoneinfo/"):
                out.append(self._aimed(key, "/usr/share/zoneinfo/*"))
        for real, _, _ in ctx.lib_resources():
            out.append(self._aimed(ResourceKey(ResourceKind.LIB, real), f"*/{_base(real)}"))
        for key, _, path in ctx.modules():
            if path.endswith(".so") and ctx.impact.owners.get(path):
                out.append(self._aimed(key, f"*/{_base(path)}"))
        for _, path, _ in commands(ctx):
            out.append(self._aimed(ResourceKey(ResourceKind.EXE, path), f"*bin/{_base(path)}"))
        return out

    def _aimed(self, key: ResourceKey, pattern: str) -> FaultTarget:
        return self.target(key, (), ExcludeParams(pattern=pattern))

    def steps(self, target: FaultTarget) -> list[str]:
        # an image-slimming configuration with one pattern too many: a reinstall "succeeds" and
        # removes the very file it should restore
        lines = (
            "# slim image: leave out what containers do not need",
            "path-exclude=/usr/share/doc/*",
            "path-include=/usr/share/doc/*/copyright",
            "path-exclude=/usr/share/man/*",
            f"path-exclude={ExcludeParams.of(target).pattern}",
        )
        text = " ".join(q(line) for line in lines)
        return [keep_dir_mtime(DPKG_SLIM_CONF, f"printf '%s\\n' {text} > {DPKG_SLIM_CONF}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {DPKG_SLIM_CONF}"]


def _base(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


PIP_GLOBAL_CONF = "/etc/pip.conf"


class PipGlobalSetting(BlockerFamily):
    """One setting in the machine-wide pip configuration that stands in the way of a repair.
    Applying it fails (the attempt is rejected) where that file has no [global] section."""

    blocks = "pip"
    line: ClassVar[str]
    config = PIP_GLOBAL_CONF

    def steps(self, target: FaultTarget) -> list[str]:
        conf = target.resource.name
        add = f"sed -i '/^\\[global\\]/a {self.line}' {conf}"
        return [f"grep -q '^\\[global\\]' {conf} && {keep_mtime(conf, add)}"]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"sed -i '\\#^{self.line}$#d' {q(target.resource.name)}"]


@register
class PipHashesRequired(PipGlobalSetting):
    name = "pip-hashes-required"
    category = FaultCategory.PACKAGE_MANAGER
    description = "pip is configured to install only requirements pinned by hash"
    line = "require-hashes = true"  # supply-chain hardening


@register
class PipUserInstallForced(PipGlobalSetting):
    name = "pip-user-install-forced"
    category = FaultCategory.PACKAGE_MANAGER
    description = "pip is configured to make every install a --user install"
    line = "user = true"  # keeps shared machines' system Python intact; a virtualenv refuses it


@register
class PipTargetRedirected(PipGlobalSetting):
    name = "pip-target-redirected"
    category = FaultCategory.PACKAGE_MANAGER
    description = "pip is configured to install packages into another directory"
    line = "target = /opt/vendor"  # left from vendoring a deployment: installs change nothing


STATOVERRIDE = "/var/lib/dpkg/statoverride"
STALE_OVERRIDE = "deploy deploy 0750 /srv/app"


@register
class DpkgStatoverrideStale(BlockerFamily):
    name = "dpkg-statoverride-stale"
    category = FaultCategory.PACKAGE_MANAGER
    description = "dpkg holds a permission override for a user that no longer exists"
    blocks = "apt"
    config = STATOVERRIDE

    def steps(self, target: FaultTarget) -> list[str]:
        # an application user removed after its directory got an override: dpkg stops at once
        path = target.resource.name
        return [keep_dir_mtime(path, f"printf '%s\\n' {q(STALE_OVERRIDE)} >> {path}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"sed -i '\\# /srv/app$#d' {target.resource.name}"]
