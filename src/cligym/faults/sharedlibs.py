"""Shared-library faults: the libraries that extension modules load (libsqlite3, libssl, ...)."""

from __future__ import annotations

import os
from typing import ClassVar, Literal

from cligym.faults.base import FaultContext, FaultFamily, FaultParams, layout_of, register
from cligym.faults.shell import (
    cut_short,
    keep_dir_mtime,
    keep_mtime,
    q,
    reinstall,
    reinstall_dist,
)
from cligym.faults.targets import third_party
from cligym.records import FaultCategory, FaultTarget, Layout, ResourceKey, ResourceKind

ElfPart = Literal["magic", "machine", "phoff"]
# Byte ranges of the ELF64 header: (offset, bytes written) per corrupted part.
ELF_PARTS: dict[ElfPart, tuple[int, str]] = {
    "magic": (1, r"\105\114\130"),  # "\x7fELF" -> "\x7fELX"
    "machine": (18, r"\050\000"),  # EM_X86_64 (62) -> EM_ARM (40): "wrong ELF class/machine"
    "phoff": (32, r"\377\377\377\377"),  # program headers "found" far past the end of file
}


class LibraryParams(FaultParams):
    soname: str
    owner: str  # the Debian package that installs the library ("" when unknown)


class ElfParams(LibraryParams):
    part: ElfPart  # which part of the header (ELF_PARTS)


class SonameLink(FaultParams):
    link: str  # the soname symlink next to the library


class ExtensionParams(FaultParams):
    path: str  # the extension module's file
    owner: str  # its Debian package ("" when pip installed it)
    dist: str = ""  # its distribution, for the pip repair
    version: str = ""  # the distribution's gold release


def _library_targets(
    fam: FaultFamily, ctx: FaultContext, *, versioned_only: bool = False
) -> list[FaultTarget]:
    """One target per library tests load that a Debian package installs (no package, no
    repair: the project's own extension modules under /app); `versioned_only` leaves out
    Python's extension modules, which define no symbol versions."""
    return [
        fam.target(
            ResourceKey(ResourceKind.LIB, real),
            ctx.subset(users),
            LibraryParams(soname=soname, owner=ctx.impact.owners[real]),
        )
        for real, soname, users in ctx.lib_resources()
        if ctx.impact.owners.get(real)
        and (
            not versioned_only
            or (".cpython-" not in os.path.basename(real) and ".abi3." not in real)
        )
    ]


def _script_step(script: str, target: FaultTarget) -> str:
    """Run a Python script on the target's file with the gold env's interpreter, as one line
    (a RUN step must be), keeping the file's mtime."""
    one_line, path = f"exec({script!r})", target.resource.name
    return keep_mtime(path, f"{layout_of(target).python} -c {q(one_line)} {q(path)}")


def _lib_solution(ctx_owner: str, real: str) -> list[str]:
    return [reinstall(ctx_owner)] if ctx_owner else [f"echo 'restore {real} from its package'"]


@register
class ElfHeaderCorrupt(FaultFamily):
    name = "elf-header-corrupt"
    category = FaultCategory.SHARED_LIBRARIES
    description = "a shared library that tests load has a damaged ELF header"
    needs_network = True  # the specific repair reinstalls the Debian package
    params_type = ElfParams

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        for real, soname, users in ctx.lib_resources():
            owner = ctx.impact.owners.get(real, "")
            for part in ELF_PARTS:
                params = ElfParams(part=part, soname=soname, owner=owner)
                out.append(
                    self.target(ResourceKey(ResourceKind.LIB, real), ctx.subset(users), params)
                )
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        real = target.resource.name
        offset, data = ELF_PARTS[ElfParams.of(target).part]
        write = f"printf '{data}' | dd of={q(real)} bs=1 seek={offset} conv=notrunc status=none"
        return [keep_mtime(real, write)]

    def solution(self, target: FaultTarget) -> list[str]:
        return _lib_solution(ElfParams.of(target).owner, target.resource.name)

    def hint(self, target: FaultTarget) -> str:
        return f"a shared library ({ElfParams.of(target).soname}) is damaged"


@register
class LibTruncated(FaultFamily):
    name = "lib-truncated"
    category = FaultCategory.SHARED_LIBRARIES
    description = "a shared library that tests load was cut short"
    needs_network = True
    params_type = LibraryParams
    kills_loader = True  # the loader maps pages past the end of the file: SIGBUS

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return _library_targets(self, ctx)

    def steps(self, target: FaultTarget) -> list[str]:
        return [cut_short(target.resource.name, 3)]

    def solution(self, target: FaultTarget) -> list[str]:
        return _lib_solution(LibraryParams.of(target).owner, target.resource.name)


# The start of the scripts below, run in the container on the library's file `p`: its bytes
# `b` and its section headers (name, type, flags, address, offset, size, link, info, ...).
_READ_SECTIONS = """\
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
shoff, = struct.unpack_from('<Q', b, 40)
size, count = struct.unpack_from('<HH', b, 58)
sections = [struct.unpack_from('<IIQQQQIIQQ', b, shoff + i * size) for i in range(count)]
"""


# Gives every version a library defines (its `.gnu.version_d` entries but the base one) another
# last digit, in place: the loader then refuses the users' symbol-version needs with "version
# `OPENSSL_3.0.0' not found", as when a package of another release left its copy behind. Exits
# non-zero when the library defines no versions (then the fault does not apply).
_RENAME_VERSIONS = _READ_SECTIONS + """\
renamed = 0
for sh in sections:
    if sh[1] != 0x6FFFFFFD:  # SHT_GNU_verdef: sh_link names the string table, sh_info counts
        continue
    strings, at = sections[sh[6]][4], sh[4]
    for _ in range(sh[7]):
        flags, = struct.unpack_from('<H', b, at + 2)
        aux, following = struct.unpack_from('<II', b, at + 12)
        if not flags & 1:  # VER_FLG_BASE: the library's own name, not a version
            end = b.index(0, strings + struct.unpack_from('<I', b, at + aux)[0])
            if 48 <= b[end - 1] <= 57:
                b[end - 1] = 48 + (b[end - 1] - 47) % 10
                renamed += 1
        at += following
if not renamed:
    sys.exit('no symbol versions defined')
open(p, 'r+b').write(b)
"""


@register
class LibFromOtherRelease(FaultFamily):
    name = "lib-other-release"
    category = FaultCategory.SHARED_LIBRARIES
    description = (
        "a shared library that tests load is another release's: the symbol versions its users "
        "need are missing"
    )
    needs_network = True
    params_type = LibraryParams

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return _library_targets(self, ctx, versioned_only=True)

    def steps(self, target: FaultTarget) -> list[str]:
        return [_script_step(_RENAME_VERSIONS, target)]

    def solution(self, target: FaultTarget) -> list[str]:
        return _lib_solution(LibraryParams.of(target).owner, target.resource.name)

    def hint(self, target: FaultTarget) -> str:
        return f"a shared library ({LibraryParams.of(target).soname}) does not match its users"


@register
class SonameLinkBroken(FaultFamily):
    name = "soname-link-broken"
    category = FaultCategory.SHARED_LIBRARIES
    description = "the soname symlink of a shared library points nowhere"
    params_type = SonameLink

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        out = []
        for real, soname, users in ctx.lib_resources():
            if os.path.basename(real) != soname:  # libfoo.so.1 -> libfoo.so.1.2.3
                link = os.path.join(os.path.dirname(real), soname)
                out.append(
                    self.target(
                        ResourceKey(ResourceKind.LIB, real),
                        ctx.subset(users),
                        SonameLink(link=link),
                    )
                )
        return out

    def steps(self, target: FaultTarget) -> list[str]:
        link = SonameLink.of(target).link
        real = os.path.basename(target.resource.name)
        stale = real.rsplit(".", 1)[0] + ".0" if real.count(".") > 2 else real + ".old"
        return [keep_dir_mtime(link, f"ln -sfn {q(stale)} {q(link)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return ["ldconfig"]


def _extension_targets(fam: FaultFamily, ctx: FaultContext) -> list[FaultTarget]:
    """One target per compiled extension module tests import, with its package or its
    distribution's gold release (the project's own extensions are left alone: no release
    rebuilds them)."""
    out = []
    installed = {dist: version for dist, version, _ in third_party(ctx)}
    for key, module, path in ctx.modules():
        if path.endswith(".so") and key not in ctx.impact.global_resources:
            owner = ctx.impact.owners.get(path, "")
            if owner:
                params = ExtensionParams(path=path, owner=owner)
            else:
                dists = ctx.impact.module_dists.get(module.split(".")[0], ())
                dist = next((d for d in dists if d in installed), "")
                if not dist:
                    continue
                params = ExtensionParams(path=path, owner="", dist=dist, version=installed[dist])
            out.append(fam.target(key, ctx.subset(ctx.users(key)), params))
    return out


def _extension_solution(params: ExtensionParams, layout: Layout) -> list[str]:
    if params.owner:
        return [reinstall(params.owner)]
    if params.dist:
        return [reinstall_dist(params.dist, params.version, layout)]
    return [f"echo 'restore {params.path} from its package'"]


@register
class ExtensionModuleRemoved(FaultFamily):
    name = "extension-module-removed"
    category = FaultCategory.SHARED_LIBRARIES
    description = "a compiled extension module that tests import is missing"
    needs_network = True
    params_type = ExtensionParams

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return _extension_targets(self, ctx)

    def steps(self, target: FaultTarget) -> list[str]:
        path = ExtensionParams.of(target).path
        return [keep_dir_mtime(path, f"rm -f {q(path)}")]

    def solution(self, target: FaultTarget) -> list[str]:
        return _extension_solution(ExtensionParams.of(target), layout_of(target))


@register
class ExtensionModuleTruncated(FaultFamily):
    """A disk that filled up while a package was upgraded: a compiled extension module was
    written only partly, and importing it kills the interpreter (the loader maps pages past the
    end of the file: SIGBUS), with no Python traceback. Only a chain's payload, in place of an
    accepted `extension-module-removed` on the same module: as singles it would be one more
    task on each stdlib extension module the tests import."""

    name = "extension-module-truncated"
    category = FaultCategory.SHARED_LIBRARIES
    description = (
        "a compiled extension module that tests import was cut short: importing it kills the "
        "interpreter with 'Bus error'"
    )
    needs_network = True
    params_type = ExtensionParams
    kills_loader = True
    payload_only = True

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        return _extension_targets(self, ctx)

    def steps(self, target: FaultTarget) -> list[str]:
        path = ExtensionParams.of(target).path
        return [cut_short(path, 3)]

    def solution(self, target: FaultTarget) -> list[str]:
        return _extension_solution(ExtensionParams.of(target), layout_of(target))


# Writes `ud2` over the first instructions of the function the loader runs when it loads the
# file (its DT_INIT), in place: every process that loads the library dies with SIGILL, as with
# a build for a newer CPU. Exits non-zero when the file has no init function (then the fault
# does not apply).
_BREAK_INIT = """\
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
phoff, = struct.unpack_from('<Q', b, 32)
size, count = struct.unpack_from('<HH', b, 54)
heads = [struct.unpack_from('<IIQQQQQQ', b, phoff + i * size) for i in range(count)]
init = -1
for kind, _, off, _, _, filesz, _, _ in heads:
    if kind == 2:  # PT_DYNAMIC: (tag, value) pairs; DT_INIT is 12
        for at in range(off, off + filesz, 16):
            tag, value = struct.unpack_from('<qQ', b, at)
            if tag == 12:
                init = value
loads = [(off, va, filesz) for kind, _, off, va, _, filesz, _, _ in heads if kind == 1]
at = next((off + init - va for off, va, n in loads if va <= init < va + n), None)
if at is None:
    sys.exit('no init function')
b[at:at + 2] = b'\\x0f\\x0b'
open(p, 'r+b').write(b)
"""


class _LoaderKilled(FaultFamily):
    """A library that `script` damages in place so that every process that loads it dies
    before anything could catch an error (the loader runs its init code, or checks its
    version needs, as it maps it)."""

    category = FaultCategory.SHARED_LIBRARIES
    needs_network = True
    params_type = LibraryParams
    kills_loader = True
    script: ClassVar[str]
    symptom: ClassVar[str]  # the hint's end: "a shared library (libx.so.1) <symptom>"

    def targets(self, ctx: FaultContext) -> list[FaultTarget]:
        # libraries only: on an extension module it kills whatever imports it, so it broke
        # tests on one stdlib module after another (28% of the default corpus's tasks)
        return _library_targets(self, ctx)

    def steps(self, target: FaultTarget) -> list[str]:
        return [_script_step(self.script, target)]

    def solution(self, target: FaultTarget) -> list[str]:
        return _lib_solution(LibraryParams.of(target).owner, target.resource.name)

    def hint(self, target: FaultTarget) -> str:
        return f"a shared library ({LibraryParams.of(target).soname}) {self.symptom}"


@register
class LibOtherCpu(_LoaderKilled):
    name = "lib-other-cpu"
    description = (
        "a shared library that tests load was built for another CPU: the process that loads "
        "it dies with 'Illegal instruction'"
    )
    script = _BREAK_INIT
    symptom = "does not run on this machine"


# The same place, another damage: an instruction that stores to address 0 (`movb $0, 0x0`)
# over the start of the init function. Every process that loads the library dies with
# SIGSEGV; the file keeps its size, header and symbol versions, so only its checksum (`dpkg
# --verify`) or a backtrace into the library tells what broke.
_SEGV_INIT = _BREAK_INIT.replace(
    "b[at:at + 2] = b'\\x0f\\x0b'", "b[at:at + 8] = b'\\xc6\\x04\\x25' + bytes(5)"
)


@register
class LibCodeCorrupt(_LoaderKilled):
    """Bit rot or a bad copy in a library's code: the process crashes where it runs the
    damaged code (here, as the loader runs the library's init function), with nothing in the
    error about which library; `ldd` and the loader find nothing wrong."""

    name = "lib-code-corrupt"
    description = (
        "a shared library that tests load has damaged code: the process that loads it dies "
        "with 'Segmentation fault'"
    )
    script = _SEGV_INIT
    symptom = "crashes when it is loaded"


# Points the first version-needs entry of a library (its `.gnu.version_r`: which library
# provides the symbol versions it needs) at a string that names no library, the name of the
# version it needs there (OPENSSL_3.0.0 rather than libcrypto.so.3), in place. glibc's loader
# looks that library up among the loaded ones as it maps the file, finds none and fails an
# assertion: the process exits 127 with "Inconsistency detected by ld.so: dl-version.c: ...
# Assertion `needed != NULL' failed!", from `import ssl` as from `ldd`. Exits non-zero when
# the library needs no versions (then the fault does not apply).
_BREAK_VERSION_NEEDS = _READ_SECTIONS + """\
needs = [sh for sh in sections if sh[1] == 0x6FFFFFFE]  # SHT_GNU_verneed
if not needs:
    sys.exit('no version needs')
at = needs[0][4]
aux, = struct.unpack_from('<I', b, at + 8)  # Verneed: version, count, file, aux, next
name, = struct.unpack_from('<I', b, at + aux + 8)  # Vernaux: hash, flags, other, name, next
struct.pack_into('<I', b, at + 4, name)
open(p, 'r+b').write(b)
"""


@register
class LibVersionNeedsBroken(_LoaderKilled):
    """A library whose record of which libraries provide the symbol versions it needs names
    none that is loaded, as a bad binary patch or a copy from a broken build leaves it: the
    loader aborts with an assertion about itself, naming neither the library nor the file, so
    the message reads like a loader bug; `ldd` on any of its users prints the same line, and
    only the file's checksum (`dpkg --verify`) or `LD_DEBUG` shows which library it was. Under
    pytest, whose capture holds the stderr of the test that loaded it, not even that line
    shows: the run stops after its last progress dot with exit status 127."""

    name = "lib-version-needs-broken"
    description = (
        "a shared library that tests load names, in its version needs, a library it does not "
        "link: the process that loads it exits with 'Inconsistency detected by ld.so'"
    )
    script = _BREAK_VERSION_NEEDS
    symptom = "stops the loader with an assertion"
