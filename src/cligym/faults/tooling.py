"""Package-manager faults: the tools a repair needs (pip, apt) are themselves broken.

No test touches pip or apt, so none of these fails a test alone. They are *blockers*: the search
joins one to a fault whose specific repair runs the tool it breaks, and the task's solution must
mend the tool first. An agent that goes straight for `pip install` or `apt-get install --reinstall`
meets a second, different error and has to diagnose it: a repair chain. Verification checks that
the chain holds (the payload's repair alone does not restore the tests).
"""

from __future__ import annotations

from cligym.faults.base import BlockerFamily, FaultContext, FaultParams, register
from cligym.faults.shell import keep_dir_mtime, keep_mtime, q
from cligym.faults.targets import site_packages, third_party, top_level_modules
from cligym.records import FaultCategory, FaultTarget, ResourceKey, ResourceKind
from cligym.testbed.layout import GOLD_PYTHON, VENV

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
            f"rm -rf {site}/pip {site}/pip-*.dist-info && {GOLD_PYTHON} -m ensurepip >/dev/null"
        ]


@register
class PipIndexUnreachable(BlockerFamily):
    name = "pip-index-unreachable"
    category = FaultCategory.PACKAGE_MANAGER
    description = "pip is configured to use a package index that does not exist"
    blocks = "pip"

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [self.target(ResourceKey(ResourceKind.FILE, f"{VENV}/pip.conf"), ())]

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

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [self.target(ResourceKey(ResourceKind.FILE, "/var/lib/dpkg/updates"), ())]

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

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [self.target(ResourceKey(ResourceKind.FILE, "/etc/apt/sources.list"), ())]

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

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [self.target(ResourceKey(ResourceKind.FILE, APT_PROXY_CONF), ())]

    def steps(self, target: FaultTarget) -> list[str]:
        # what a machine moved out of a network with a caching proxy keeps
        conf = target.resource.name
        line = f'Acquire::http::Proxy "{DEAD_PROXY}";'
        return [keep_dir_mtime(conf, f"printf '%s\\n' {q(line)} > {q(conf)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [f"rm -f {q(target.resource.name)}"]
