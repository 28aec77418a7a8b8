"""Configuration faults: system configuration and data that libraries read at run time."""

from __future__ import annotations

from cligym.faults.base import FaultContext, FaultFamily, register
from cligym.faults.shell import keep_dir_mtime, keep_mtime, q, reinstall
from cligym.records import FaultCategory, FaultTarget, ResourceKey, ResourceKind

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
OPENSSL_CNF = "/usr/lib/ssl/openssl.cnf"


@register
class CaBundleRemoved(FaultFamily):
    name = "ca-bundle-removed"
    category = FaultCategory.CONFIGURATION
    description = "the system's trusted CA certificate bundle is missing"
    blocks = "pip"  # pip.conf names the bundle as `cert`: pip fails before any download

    def blocker_targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return [self.target(ResourceKey(ResourceKind.FILE, CA_BUNDLE), ())]

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        users = ctx.lib_users("libssl")
        return [self.target(ResourceKey(ResourceKind.FILE, CA_BUNDLE), users)] if users else []

    def steps(self, target: FaultTarget) -> list[str]:
        return [keep_dir_mtime(CA_BUNDLE, f"rm -f {CA_BUNDLE}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return ["update-ca-certificates --fresh >/dev/null"]


@register
class OpensslProvidersBroken(FaultFamily):
    name = "openssl-providers-broken"
    category = FaultCategory.CONFIGURATION
    description = "OpenSSL's configuration activates no provider with usable algorithms"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        users = ctx.lib_users("libssl", "libcrypto")
        return [self.target(ResourceKey(ResourceKind.FILE, OPENSSL_CNF), users)] if users else []

    def steps(self, target: FaultTarget) -> list[str]:
        # Listing only the `base` provider means the default one is no longer loaded.
        edit = (
            f"sed -i 's/^# providers = provider_sect/providers = provider_sect/' {OPENSSL_CNF}"
            f" && printf '\\n[provider_sect]\\nbase = base_sect\\n[base_sect]\\nactivate = 1\\n'"
            f" >> {OPENSSL_CNF}"
        )
        return [keep_mtime(OPENSSL_CNF, edit)]

    def solution(self, target: FaultTarget) -> list[str]:
        return [
            f"sed -i -e 's/^providers = provider_sect/# providers = provider_sect/' "
            f"-e '/^\\[provider_sect\\]$/,$d' {OPENSSL_CNF}"
        ]


@register
class TimezoneDataRemoved(FaultFamily):
    name = "tzdata-zone-removed"
    category = FaultCategory.CONFIGURATION
    description = "time zone definitions the program needs are missing from the system"
    needs_network = True

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        for key in ctx.resources(ResourceKind.FILE):
            path = key.name
            if path.startswith("/usr/share/zoneinfo/") and path.count("/") >= 5:
                out.append(self.target(key, ctx.subset(ctx.users(key))))
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        path = target.resource.name
        return [keep_dir_mtime(path, f"rm -f {q(path)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return [reinstall("tzdata")]


@register
class LocaltimeBroken(FaultFamily):
    name = "localtime-broken"
    category = FaultCategory.CONFIGURATION
    description = "the system time zone setting points to a zone file that does not exist"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        users = ctx.users(ResourceKey(ResourceKind.ENV, "TZ")) or ctx.subset(
            u
            for k in ctx.resources(ResourceKind.FILE)
            if k.name.startswith("/etc/localtime")
            for u in ctx.users(k)
        )
        return (
            [self.target(ResourceKey(ResourceKind.FILE, "/etc/localtime"), ctx.subset(users))]
            if users
            else []
        )

    def steps(self, target: FaultTarget) -> list[str]:
        return ["ln -sfn /usr/share/zoneinfo/Etc/Unknown /etc/localtime"]

    def solution(self, target: FaultTarget) -> list[str]:
        return ["ln -sfn /usr/share/zoneinfo/Etc/UTC /etc/localtime"]
