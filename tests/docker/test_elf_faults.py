"""The ELF-header fault really damages the part it names (checked with pyelftools)."""

from __future__ import annotations

import io

import pytest
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from cligym.faults.registry import family
from cligym.faults.sharedlibs import ElfParams, ElfPart
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
