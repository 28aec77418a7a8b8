"""The ELF-header fault really damages the part it names (checked with pyelftools)."""

from __future__ import annotations

import io

import pytest
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from cligym.faults.registry import family
from cligym.records import FaultTarget

pytestmark = pytest.mark.docker
LIB = "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"


def _corrupted(runtime, image: str, part: str) -> bytes:
    fam = family("elf-header-corrupt")
    target = FaultTarget(family=fam.name, resource=f"lib:{LIB}", params=(("part", part),))
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
