"""Docker-tier fixtures: one runtime, the base image and the sample gold env per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cligym.api import Workspace, sample_repo_path
from cligym.config import Settings
from cligym.gold.build import GoldRequest, GoldResult
from cligym.records import Task
from cligym.runtime.docker import DockerRuntime
from tests.docker.containers import suite_containers


@pytest.fixture(scope="session")
def runtime() -> DockerRuntime:
    return DockerRuntime()


@pytest.fixture(scope="session")
def workspace(session_workdir: Path, runtime: DockerRuntime) -> Workspace:
    # CLIGYM_BASE_IMAGE: a base image of its own, beside a cligym run that uses the default one
    base = os.environ.get("CLIGYM_BASE_IMAGE", Settings().base_image)
    settings = Settings(workdir=session_workdir, test_timeout_sec=300, base_image=base)
    ws = Workspace(settings, runtime=runtime)
    ws.build_base()
    return ws


@pytest.fixture(scope="session")
def sample_gold(workspace: Workspace) -> GoldResult:
    return workspace.gold(GoldRequest(spec=str(sample_repo_path()), runs=2))


@pytest.fixture
def no_new_containers(runtime: DockerRuntime) -> Iterator[None]:
    """Asserts that the test leaves no labelled container behind."""
    before = suite_containers(runtime)
    yield
    assert suite_containers(runtime) - before == set(), "labelled containers survived the test"


@pytest.fixture(scope="session")
def sample_tasks(sample_gold, workspace: Workspace) -> list[Task]:
    """Verified tasks of the sample (the search of test_invert is reused from the catalog)."""
    workspace.invert(sample_gold.gold.id, budget=6, seed=11, max_faults=2)
    workspace.verify(sample_gold.gold.id)
    tasks = workspace.list_tasks(sample_gold.gold.id)
    assert len(tasks) >= 3, "the sample must yield at least 3 verified tasks"
    return tasks


@pytest.fixture(scope="session")
def harbor_dataset(sample_tasks, workspace: Workspace, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("harbor")
    report = workspace.export(out, "harbor", hints=("none", "category"))
    assert not report.skipped, report.skipped
    # every task of the catalog, including those other tests verified after sample_tasks
    assert len(report.written) == 2 * len(workspace.list_tasks(sample_tasks[0].gold_id))
    gold = workspace.get_gold(sample_tasks[0].gold_id)
    assert [(i.image_tag, i.file) for i in report.gold_images] == [
        (gold.image_tag, "images/gold-images.tar.gz")
    ]
    return out
