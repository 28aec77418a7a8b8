"""Every fault family as a pure plug-in: targets from the impact map, well-formed steps."""

import json
import shlex
from pathlib import Path

import pytest
from pydantic import ValidationError

from cligym.faults.base import REGISTRY, FaultParams
from cligym.faults.dependencies import DowngradeParams
from cligym.faults.registry import families, family
from cligym.faults.sharedlibs import ElfParams
from cligym.records import FaultCategory, FaultTarget
from tests.unit.fault_fixtures import TESTS, context

ALL = families()


def test_catalog_covers_six_categories_with_many_families():
    assert len(ALL) >= 18
    assert {f.category for f in ALL} == set(FaultCategory)
    assert len(REGISTRY) == len(ALL)
    assert all(f.description and not f.description.endswith(".") for f in ALL)


@pytest.mark.parametrize("fam", ALL, ids=lambda f: f.name)
def test_steps_and_solutions_are_single_shell_lines(fam):
    ctx = context()
    targets = fam.targets(ctx)
    for target in targets:
        assert target.family == fam.name
        assert set(target.predicted_tests) <= set(TESTS)
        for line in [*fam.steps(target), *fam.solution(target)]:
            assert line and "\n" not in line, line  # one Dockerfile RUN line each
            shlex.split(line)  # balanced quoting


def test_most_families_find_targets_in_a_rich_env():
    ctx = context()
    with_targets = [f.name for f in ALL if f.targets(ctx)]
    assert len(with_targets) >= 20, set(f.name for f in ALL) - set(with_targets)


def test_libraries_the_package_manager_needs_are_never_targets():
    ctx = context()
    for fam in ALL:
        for target in fam.targets(ctx):
            assert "liblzma" not in target.resource.name, (fam.name, target)


def test_predictions_follow_the_impact_map():
    ctx = context()
    elf = [t for t in family("elf-header-corrupt").targets(ctx) if "libsqlite3" in t.resource.name]
    assert elf and elf[0].predicted_tests == (TESTS[0],)
    assert ElfParams.of(elf[0]).owner == "libsqlite3-0"
    tar = family("command-shadowed-on-path").targets(ctx)
    assert [t.predicted_tests for t in tar] == [(TESTS[4],)]
    assert family("command-missing").targets(ctx) == []  # dpkg needs tar to reinstall tar


def test_steps_keep_mtimes_of_modified_files():
    ctx = context()
    for name in ("elf-header-corrupt", "lib-truncated", "stdlib-module-truncated"):
        fam = family(name)
        for target in fam.targets(ctx)[:2]:
            assert "touch -h -d @$m" in fam.steps(target)[0]


def test_downgrade_picks_an_older_series():
    ctx = context()
    (target,) = family("dist-downgraded").targets(ctx)
    params = DowngradeParams.of(target)
    assert params.old == "0.8.9" and params.version == "0.10.0"
    assert "tabulate==0.8.9" in family("dist-downgraded").steps(target)[0]


@pytest.mark.parametrize("fam", ALL, ids=lambda f: f.name)
def test_families_whose_repair_downloads_say_so(fam):
    for target in fam.targets(context()):
        downloads = any("apt-get" in s or "pip install" in s for s in fam.solution(target))
        assert fam.needs_network or not downloads, fam.name


GOLDEN = Path(__file__).parent / "golden" / "fault_renderings.json"


def render_all() -> dict:
    """Every family's targets on the fixture env, with their steps, solution and hint."""
    ctx = context()
    out = {}
    for fam in families():
        rows = [
            {
                "target": json.loads(t.model_dump_json()),
                "steps": fam.steps(t),
                "solution": fam.solution(t),
                "hint": fam.hint(t),
            }
            for t in (*fam.targets(ctx), *fam.blocker_targets(ctx))
        ]
        out[fam.name] = {
            "category": fam.category.value,
            "needs_network": fam.needs_network,
            "description": fam.description,
            "targets": rows,
        }
        if fam.blocks:
            out[fam.name]["blocks"] = fam.blocks
    return out


def test_renderings_are_unchanged():
    """Targets, steps, solutions and hints byte for byte as recorded (regenerate on purpose with
    `python -m tests.unit.test_faults > tests/unit/golden/fault_renderings.json`)."""
    assert render_all() == json.loads(GOLDEN.read_text())


def test_stored_targets_render_as_recorded():
    """A target read back from its stored JSON (parameters as string pairs) renders the same."""
    for name, recorded in json.loads(GOLDEN.read_text()).items():
        fam = family(name)
        for row in recorded["targets"]:
            target = FaultTarget.model_validate_json(json.dumps(row["target"]))
            assert fam.steps(target) == row["steps"]
            assert fam.solution(target) == row["solution"]
            assert fam.hint(target) == row["hint"]


@pytest.mark.parametrize("fam", ALL, ids=lambda f: f.name)
def test_each_family_reads_its_parameters_through_its_own_model(fam):
    for target in fam.targets(context()):
        assert fam.params_type.of(target).pairs() == target.params
    with pytest.raises(TypeError):
        fam.target("env:X", (), _Stray(x="1"))


class _Stray(FaultParams):
    x: str


def test_parameters_are_checked_when_read():
    (target,) = family("dist-downgraded").targets(context())
    broken = target.model_copy(update={"params": (("version", "1.0"),)})
    with pytest.raises(ValidationError):
        DowngradeParams.of(broken)


if __name__ == "__main__":
    print(json.dumps(render_all(), indent=1, sort_keys=True))
