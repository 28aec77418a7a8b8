"""Docker-tier fixtures: one runtime, the base image and the sample gold env per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cligym.api import Workspace, sample_repo_path
from cligym.config import Settings
from cligym.gold.build import GoldRequest, GoldResult
from cligym.runtime.docker import LABEL, DockerRuntime


@pytest.fixture(scope="session")
def runtime() -> DockerRuntime:
    return DockerRuntime()


@pytest.fixture(scope="session")
def workspace(session_workdir: Path, runtime: DockerRuntime) -> Workspace:
    ws = Workspace(Settings(workdir=session_workdir, test_timeout_sec=300), runtime=runtime)
    ws.build_base()
    return ws


@pytest.fixture(scope="session")
def sample_gold(workspace: Workspace) -> GoldResult:
    return workspace.gold(GoldRequest(spec=str(sample_repo_path()), runs=2))


@pytest.fixture
def no_new_containers(runtime: DockerRuntime) -> Iterator[None]:
    """Asserts that the test leaves no labelled container behind."""
    before = {c.id for c in runtime.labelled_containers()}
    yield
    after = {c.id for c in runtime.client.containers.list(all=True, filters={"label": LABEL})}
    assert after - before == set(), "labelled containers survived the test"
