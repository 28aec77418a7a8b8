"""Shared fixtures. Docker tiers skip locally without a daemon and fail under CI=true."""

from __future__ import annotations

import os
import sysconfig
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


FINGERPRINT_ROOTS = ("/usr/lib", "/etc", sysconfig.get_paths()["purelib"])


def host_fingerprint(roots: tuple[str, ...] = FINGERPRINT_ROOTS) -> dict[str, tuple[int, int, int]]:
    """(mode, size, mtime) of every file under the roots, bytecode caches aside: faults are
    applied only inside containers, so nothing here may change while the suite runs."""
    out: dict[str, tuple[int, int, int]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                out[path] = (st.st_mode, st.st_size, int(st.st_mtime))
    return out


@pytest.fixture(scope="session", autouse=True)
def host_fingerprint_at_start() -> dict[str, tuple[int, int, int]]:
    return host_fingerprint()


@pytest.fixture(scope="session")
def fixture_repos() -> Path:
    return FIXTURE_REPOS


@pytest.fixture(scope="session")
def session_workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One work directory (catalog + gold artifacts) shared by the Docker tests."""
    yield tmp_path_factory.mktemp("cligym-work")
