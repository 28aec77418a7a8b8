"""A gold env whose project and Python environment live elsewhere (an existing image's layout:
SWE-smith's `/testbed` and conda env `testbed`): every path cligym renders follows the layout."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime

from cligym.faults.base import FaultContext
from cligym.faults.registry import families, family
from cligym.grading.kit import grader_spec
from cligym.invert.search import plan_blockers, plan_singles
from cligym.package.text.leakcheck import secrets_for
from cligym.probe.impact import parse_probe_payload
from cligym.records import (
    DEFAULT_LAYOUT,
    Candidate,
    FaultTarget,
    GoldEnv,
    Layout,
    RecipeSpec,
)
from cligym.testbed.command import render_test_command, render_test_script
from cligym.verify.noise import noise_roots
from tests.unit import fault_fixtures
from tests.unit.test_catalog import gold

CONDA = Layout(
    app_dir="/testbed",
    env_dir="/opt/miniconda3/envs/testbed",
    env_kind="conda",
    activation=(". /opt/miniconda3/etc/profile.d/conda.sh", "conda activate testbed"),
)


def conda_context() -> FaultContext:
    """The unit fixture's gold env and impact map, moved to the conda layout."""
    text = json.dumps(fault_fixtures.payload())
    text = text.replace("/opt/venv", CONDA.env_dir).replace('"/app/', '"/testbed/')
    base = fault_fixtures.context().gold
    g = base.model_copy(update={"layout": CONDA})
    impact = parse_probe_payload(g.id, json.loads(text), fault_fixtures.TESTS, CONDA)
    return FaultContext(g, impact, releases={"tabulate": ("0.8.9", "0.9.0", "0.10.0")})


def test_every_step_and_solution_follows_the_layout():
    ctx = conda_context()
    singles = plan_singles(ctx, families(), seed=0)
    blockers = [t for ts in plan_blockers(ctx, families()).values() for t in ts]
    assert len(singles) > 20 and blockers
    for target in (*singles, *blockers):
        assert target.layout == CONDA
        fam = family(target.family)
        rendered = "\n".join([*fam.steps(target), *fam.solution(target)])
        assert "/opt/venv" not in rendered and " /app" not in rendered, (target.family, rendered)
    pip_steps = [
        s for t in singles if t.family == "dist-removed" for s in family(t.family).steps(t)
    ]
    assert pip_steps and all(f"{CONDA.env_dir}/bin/python -m pip" in s for s in pip_steps)


def test_families_aim_at_the_layouts_own_places():
    ctx = conda_context()
    by_family: dict[str, list[FaultTarget]] = {}
    for t in plan_singles(ctx, families(), seed=0):
        by_family.setdefault(t.family, []).append(t)
    # a conda env's python is a file, not the venv's link to the system interpreter
    assert "venv-link-broken" not in by_family
    # conda's own activation hooks: only where conda activates the environment
    hooks = by_family["conda-activate-hook"]
    assert hooks and not family("conda-activate-hook").targets(fault_fixtures.context())
    (step,) = family("conda-activate-hook").steps(hooks[0])
    assert f"{CONDA.env_dir}/etc/conda/activate.d/" in step
    # and the variables `conda env config vars set` saves in conda-meta/state
    saved = by_family["conda-env-vars"]
    assert saved and not family("conda-env-vars").targets(fault_fixtures.context())
    assert {t.resource for t in saved} == {t.resource for t in hooks}
    (step,) = family("conda-env-vars").steps(saved[0])
    assert f"{CONDA.env_dir}/conda-meta/state" in step and "env_vars" in step
    assert [t.resource.name for t in by_family["app-read-only"]] == ["/testbed"]
    (pip_conf,) = plan_blockers(ctx, [family("pip-index-unreachable")])["pip"]
    assert pip_conf.resource.name == f"{CONDA.env_dir}/pip.conf"


def test_a_distribution_installed_from_a_directory_is_no_dependency_target():
    """An image's project is installed editable under its own name, not the image's: pip
    cannot reinstall it by version, so only a repair that installs the directory again fits."""
    payload = json.loads(json.dumps(fault_fixtures.payload()).replace("/opt/venv", CONDA.env_dir))
    payload["dist_versions"]["stashkit"] = "0.3.1"
    payload["distributions"]["stashkit"] = ["stashkit"]
    payload["modules"]["stashkit"] = "/testbed/stashkit/__init__.py"
    payload["modules"]["importlib.metadata"] = "/usr/lib/python3.11/importlib/metadata/__init__.py"
    payload["contexts"][fault_fixtures.TESTS[6]]["modules"] += ["stashkit", "importlib.metadata"]
    payload["direct_urls"] = {"stashkit": "file:///testbed", "tabulate": "file:///srv/wheels"}
    g = fault_fixtures.context().gold.model_copy(update={"layout": CONDA})
    impact = parse_probe_payload(g.id, payload, fault_fixtures.TESTS, CONDA)
    assert impact.direct_urls["stashkit"] == "file:///testbed"
    ctx = FaultContext(g, impact, releases={"tabulate": ("0.9.0", "0.10.0")})
    for name in ("dist-removed", "dist-downgraded", "dist-files-missing", "pth-module-blocked"):
        dists = {t.resource.name for t in family(name).targets(ctx)}
        assert not dists & {"stashkit", "tabulate"}, name
    broken = {t.resource.name: t for t in ctx.stamped(family("dist-metadata-broken").targets(ctx))}
    assert "tabulate" not in broken  # from a wheel directory the task does not have
    repair = family("dist-metadata-broken").solution(broken["stashkit"])[0]
    assert "cd /testbed &&" in repair and "install -q --no-cache-dir --no-deps -e ." in repair


def test_a_user_env_of_the_same_name_shadows_a_conda_env_with_its_own_interpreter():
    """conda looks in ~/.conda/envs before the root's envs/ for a user who cannot write the
    root prefix: a bare environment of the same name there is what activation finds."""
    text = json.dumps(fault_fixtures.payload()).replace("/opt/venv", CONDA.env_dir)
    fam = family("conda-env-shadowed")
    assert not fam.targets(conda_context())  # the fixture's stdlib is the system's: no copy
    own = text.replace('"/usr/lib/python3.11', f'"{CONDA.env_dir}/lib/python3.11')
    g = fault_fixtures.context().gold.model_copy(update={"layout": CONDA})
    ctx = FaultContext(g, parse_probe_payload(g.id, json.loads(own), fault_fixtures.TESTS, CONDA))
    (target,) = ctx.stamped(fam.targets(ctx))
    assert target.resource.name == "/home/tester/.conda/envs/testbed"
    assert target.predicted_tests == ctx.subset(ctx.stable)  # every test, the wrong interpreter
    (step,) = fam.steps(target)
    assert f"cp -a {CONDA.env_dir}/bin/python3.11 /home/tester/.conda/envs/testbed/bin/" in step
    assert "--exclude=python3.11/site-packages" in step and "\n" not in step.replace("\\n", "")
    assert fam.solution(target) == ["rm -rf /home/tester/.conda/envs/testbed"]
    assert not fam.targets(fault_fixtures.context())  # a venv has no envs directories


def test_tests_run_in_the_layouts_project_directory():
    script = render_test_script(RecipeSpec(), CONDA, with_metadata=False)
    assert script.startswith("cd /testbed && python -m pytest")
    argv = render_test_command(script, CONDA)
    assert "cd /testbed && exec env" in argv[2]
    spec = grader_spec(conda_context().gold, {"PATH": "/usr/bin"}, 1000, 1000)
    assert (spec["app"], spec["venv"]) == ("/testbed", CONDA.env_dir)
    assert shlex.split(spec["test_script"])[:2] == ["cd", "/testbed"]


def test_layout_paths_are_shared_context_not_secrets_and_take_noise():
    target = FaultTarget(family="app-read-only", resource="dir:/testbed", layout=CONDA)
    assert "/testbed" not in secrets_for(target_task(target), CONDA).paths
    assert "/testbed" in secrets_for(target_task(target)).paths  # elsewhere it is the fault's
    assert CONDA.env_dir in noise_roots(CONDA)


def test_cligyms_own_layout_is_stored_as_before():
    """Records of golds and targets made before layouts existed keep their exact JSON."""
    plain = gold("feedfacefeedface")
    assert plain.layout == DEFAULT_LAYOUT and "layout" not in plain.model_dump_json()
    moved = plain.model_copy(update={"layout": CONDA})
    assert GoldEnv.model_validate_json(moved.model_dump_json()).layout == CONDA
    target = FaultTarget(family="f", resource="env:X")
    assert "layout" not in target.model_dump_json()
    moved_target = target.model_copy(update={"layout": CONDA})
    assert FaultTarget.model_validate_json(moved_target.model_dump_json()).layout == CONDA


def target_task(target: FaultTarget) -> Candidate:
    return Candidate(
        id="c1", gold_id="g", faults=(target,), families=(target.family,), categories=(),
        steps=(), solution=(), needs_network=False, failing=("t",),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_family_that_does_not_apply_leaves_the_search_order_alone():
    """conda's hooks and saved variables have no target in a venv gold env: the seeded order
    of the rest is the same with or without them."""
    ctx = fault_fixtures.context()
    every = families()
    without = [f for f in every if not f.name.startswith("conda-")]
    assert plan_singles(ctx, every, seed=5) == plan_singles(ctx, without, seed=5)
