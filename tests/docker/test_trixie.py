"""The second base: Debian trixie and its Python 3.13, bootstrapped like bookworm's when the
registry cannot be reached. The sample becomes a gold env on it, and the search finds faults
there that pass the whole verification contract (the probe reads library sonames and their
packages from the gold image, so they are trixie's own)."""

from __future__ import annotations

import dataclasses

import pytest

from cligym.api import Workspace, sample_repo_path
from cligym.gold.build import GoldRequest, GoldResult
from cligym.runtime.base import base_tag_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def workspace(workspace: Workspace, tmp_path_factory) -> Workspace:
    """A catalog of its own: the trixie gold's tasks stay out of the session catalog."""
    settings = dataclasses.replace(workspace.settings, workdir=tmp_path_factory.mktemp("trixie"))
    return Workspace(settings, runtime=workspace.runtime)


@pytest.fixture(scope="module")
def trixie_gold(workspace: Workspace) -> GoldResult:
    return workspace.gold(GoldRequest(spec=str(sample_repo_path()), runs=2, python="3.13"))


def test_the_sample_becomes_a_gold_env_on_trixie(trixie_gold: GoldResult, workspace: Workspace):
    gold = trixie_gold.gold
    assert gold.python_version.startswith("3.13.")
    assert gold.base_image == base_tag_for(workspace.settings.base_image, "trixie")
    assert gold.base_image != workspace.settings.base_image
    assert len(gold.stability.stable_passing) >= 40
    release, _ = workspace.runtime.run(
        gold.image_tag, ["sh", "-c", ". /etc/os-release && echo $VERSION_CODENAME"],
        stage="test", timeout_sec=60, network=False,
    )
    assert release.output.strip().endswith("trixie")


def test_faults_found_on_trixie_pass_the_verification_contract(
    trixie_gold: GoldResult, workspace: Workspace
):
    gold = trixie_gold.gold
    workspace.invert(gold.id, budget=6, seed=5, max_faults=1)
    workspace.verify(gold.id)
    tasks = workspace.list_tasks(gold.id)
    assert tasks, [a.reason for a in workspace.catalog.list_attempts(gold.id)]
    # nothing of bookworm's Python leaks into a trixie task's steps or repair
    for task in tasks:
        assert "python3.11" not in " ".join((*task.steps, *task.solution)), task.name
