"""Shared fixtures. Docker tiers skip locally without a daemon and fail under CI=true."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cligym.errors import DockerUnavailableError

collect_ignore = ["fixtures"]  # repositories under test, not our tests
FIXTURE_REPOS = Path(__file__).parent / "fixtures" / "repos"
TEST_RUN_ID_PREFIX = "test"


def _docker_problem() -> str | None:
    from cligym.runtime.docker import DockerRuntime

    try:
        DockerRuntime()
    except DockerUnavailableError as err:
        return str(err)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.get_closest_marker("docker") for item in items):
        return
    problem = _docker_problem()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(f"CI=true but Docker is unusable: {problem}")
    skip = pytest.mark.skip(reason=f"no Docker daemon: {problem}")
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fixture_repos() -> Path:
    return FIXTURE_REPOS


@pytest.fixture(scope="session")
def session_workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One work directory (catalog + gold artifacts) shared by the Docker tests."""
    yield tmp_path_factory.mktemp("cligym-work")
