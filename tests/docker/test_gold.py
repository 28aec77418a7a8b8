"""The gold stage end to end on the real engine: sample repo, flaky detection, cache, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cligym.api import Workspace
from cligym.gold.build import GoldRequest
from cligym.testbed.layout import TEST_USER

pytestmark = pytest.mark.docker


def cligym(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cligym", "--workdir", str(workdir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_sample_gold_has_a_large_stable_set(sample_gold, workspace: Workspace):
    gold = sample_gold.gold
    stability = gold.stability
    assert len(stability.stable_passing) >= 40
    assert not stability.flaky and not stability.failing
    assert gold.python_version.startswith("3.")
    assert any(line.lower().startswith("pyyaml==") for line in gold.pip_freeze)
    assert any(line.lower().startswith("tabulate==") for line in gold.pip_freeze)
    assert "COPY app/ /app/" in gold.dockerfile
    artifacts = workspace.settings.paths.gold_artifacts(gold.id)
    for name in (
        "Dockerfile",
        "build.log",
        "junit-1.xml",
        "junit-2.xml",
        "pip-freeze.txt",
        "gold.json",
    ):
        assert (artifacts / name).is_file(), name
    assert workspace.catalog.get_gold(gold.id) == gold


def test_sample_gold_image_layout(sample_gold, runtime):
    image = sample_gold.gold.image_tag
    result, _ = runtime.run(
        image,
        ["sh", "-c", "pwd; command -v python; command -v stashkit; id -un; ls /app"],
        stage="test",
        timeout_sec=60,
        user=TEST_USER,
    )
    lines = result.output.splitlines()
    assert lines[:4] == ["/app", "/opt/venv/bin/python", "/opt/venv/bin/stashkit", TEST_USER]
    assert "pyproject.toml" in lines and ".git" not in lines


def test_second_gold_is_a_cache_hit(sample_gold, workspace: Workspace):
    again = workspace.gold(GoldRequest(spec=sample_gold.gold.source.spec, runs=2))
    assert again.cached
    assert again.gold.id == sample_gold.gold.id
    assert len(workspace.catalog.list_gold()) >= 1


def test_cli_list_gold_json_and_table(sample_gold, session_workdir: Path):
    proc = cligym(session_workdir, "list", "gold", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    row = next(r for r in rows if r["id"] == sample_gold.gold.id)
    assert row["stable"] == len(sample_gold.gold.stability.stable_passing)
    table = cligym(session_workdir, "list", "gold")
    assert sample_gold.gold.id in table.stdout and "stashkit" in table.stdout


def test_cli_gold_cache_hit_and_show(sample_gold, session_workdir: Path):
    proc = cligym(session_workdir, "gold", sample_gold.gold.source.spec, "--json")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["cached"] is True and row["gold"]["id"] == sample_gold.gold.id
    show = cligym(session_workdir, "show", sample_gold.gold.id[:8], "--tests")
    assert show.returncode == 0 and "tests/" in show.stdout and "FROM " in show.stdout


def test_flaky_test_is_never_stable(workspace: Workspace, fixture_repos: Path):
    result = workspace.gold(GoldRequest(spec=str(fixture_repos / "flaky"), runs=2, min_tests=3))
    stability = result.gold.stability
    flaky_id = "tests/test_flaky.py::test_first_tag_is_alpha"
    assert flaky_id in stability.flaky
    assert flaky_id not in stability.stable_passing
    assert len(stability.stable_passing) == 6


@pytest.mark.slow
def test_gold_of_a_real_pypi_sdist(workspace: Workspace):
    result = workspace.gold(GoldRequest(spec="pypi:iniconfig==2.3.0", runs=2))
    gold = result.gold
    assert gold.source.resolved == "2.3.0"
    assert len(gold.stability.stable_passing) >= 20
    assert any("iniconfig" in line for line in gold.pip_freeze)  # editable: "-e /app" + comment


def test_a_test_extra_that_names_the_projects_own_extras_gets_them(
    workspace: Workspace, fixture_repos: Path
):
    """`tests = ["self-extras[yaml,toml]", ...]`: without those extras, collection fails with
    `No module named yaml`; with them every test passes."""
    result = workspace.gold(GoldRequest(spec=str(fixture_repos / "selfextras"), runs=2,
                                        min_tests=3))
    assert len(result.gold.stability.stable_passing) == 6
    assert {"PyYAML", "tomli_w"} <= {line.split("==")[0] for line in result.gold.pip_freeze}
    assert any("named by the project's own extras" in note for note in result.gold.recipe.notes)


def test_a_hanging_test_fails_alone_at_the_per_test_limit(
    workspace: Workspace, fixture_repos: Path
):
    """pytest-timeout's limit: the test that sleeps for an hour fails after 3 s with the
    plugin's message, the run goes on, and the other test is stable. Without the limit the
    whole run would hit the suite bound and report nothing."""
    result = workspace.gold(
        GoldRequest(spec=str(fixture_repos / "slow"), runs=2, min_tests=1, per_test_timeout=3)
    )
    gold = result.gold
    assert gold.stability.stable_passing == ("tests/test_slow.py::test_fast",)
    assert gold.stability.failing == ("tests/test_slow.py::test_hangs",)
    assert gold.recipe.per_test_timeout_sec == 3
    assert any(line.lower().startswith("pytest-timeout==") for line in gold.pip_freeze)
    junit = (workspace.settings.paths.gold_artifacts(gold.id) / "junit-1.xml").read_text()
    assert "Timeout" in junit
