"""The ELF faults really damage what they name (checked with pyelftools), with the symptom
they claim."""

from __future__ import annotations

import io

import pytest
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from cligym.faults.registry import family
from cligym.faults.sharedlibs import ElfParams, ElfPart, LibraryParams
from cligym.records import ResourceKey, ResourceKind

pytestmark = pytest.mark.docker
LIB = "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"


def _corrupted(runtime, image: str, part: ElfPart) -> bytes:
    fam = family("elf-header-corrupt")
    params = ElfParams(part=part, soname="libsqlite3.so.0", owner="libsqlite3-0")
    target = fam.target(ResourceKey(ResourceKind.LIB, LIB), (), params)
    with runtime.container(image, stage="test", user="root", network=False) as box:
        for step in fam.steps(target):
            assert runtime.exec(box, ["bash", "-c", step], timeout_sec=60).ok
        data = runtime.read_file(box, LIB)
    assert data is not None
    return data


def test_each_elf_part_is_damaged(runtime, sample_gold):
    image = sample_gold.gold.image_tag
    with pytest.raises(ELFError):
        ELFFile(io.BytesIO(_corrupted(runtime, image, "magic")))
    machine = ELFFile(io.BytesIO(_corrupted(runtime, image, "machine")))
    assert machine["e_machine"] != "EM_X86_64"
    phoff = ELFFile(io.BytesIO(_corrupted(runtime, image, "phoff")))
    assert phoff["e_phoff"] > len(_corrupted(runtime, image, "phoff"))


def test_version_needs_name_a_library_it_does_not_link(runtime, sample_gold):
    """The first version-needs entry names no library the file links, and every process
    that loads the file exits 127 on the loader's assertion, which names no file."""
    gold = sample_gold.gold
    fam = family("lib-version-needs-broken")
    params = LibraryParams(soname="libsqlite3.so.0", owner="libsqlite3-0")
    target = fam.target(ResourceKey(ResourceKind.LIB, LIB), (), params)
    with runtime.container(gold.image_tag, stage="test", user="root", network=False) as box:
        before = runtime.read_file(box, LIB)
        for step in fam.steps(target):
            assert runtime.exec(box, ["bash", "-c", step], timeout_sec=60).ok
        after = runtime.read_file(box, LIB)
        loaded = runtime.exec(box, [gold.layout.python, "-c", "import sqlite3"], timeout_sec=60)
    assert before is not None and after is not None and len(after) == len(before)
    elf = ELFFile(io.BytesIO(after))
    linked = {t.needed for t in elf.get_section_by_name(".dynamic").iter_tags("DT_NEEDED")}
    needs = [v.name for v, _ in elf.get_section_by_name(".gnu.version_r").iter_versions()]
    assert needs[0] not in linked and set(needs[1:]) <= linked
    assert loaded.exit_code == 127
    assert "Inconsistency detected by ld.so" in loaded.output
    assert "sqlite" not in loaded.output
