from pathlib import Path

import docker.errors
import pytest
import requests

from cligym.ids import content_id, new_run_id, run_id_pid
from cligym.runtime.docker import DockerRuntime, with_timeout
from cligym.runtime.doctor import CheckState, plan_disk_check


def test_content_id_is_stable_and_order_sensitive():
    assert content_id("a", {"x": 1, "y": 2}) == content_id("a", {"y": 2, "x": 1})
    assert content_id("a", "b") != content_id("b", "a")
    assert len(content_id("a")) == 16


def test_run_id_encodes_pid():
    import os

    assert run_id_pid(new_run_id()) == os.getpid()
    assert run_id_pid("garbage") is None


def test_with_timeout_bounds_inside_the_container():
    assert with_timeout(["pytest", "-q"], 30) == ["timeout", "-k", "5", "30", "pytest", "-q"]


def test_disk_check_thresholds():
    assert plan_disk_check("d", Path("/"), 1.0, 10).state is CheckState.FAIL
    assert "free at least 10 GB" in plan_disk_check("d", Path("/"), 1.0, 10).fix
    assert plan_disk_check("d", Path("/"), 15.0, 10).state is CheckState.WARN
    assert plan_disk_check("d", Path("/"), 50.0, 10).state is CheckState.OK


def test_broken_env_test_runs_are_bounded_by_gold_speed():
    from pathlib import Path

    from cligym.config import Settings
    from cligym.testbed.attempt import suite_timeout_sec
    from tests.unit.test_catalog import gold

    settings = Settings(workdir=Path("/tmp/unused"), test_timeout_sec=900)
    fast = gold("a")  # two runs in 1 s
    slow = fast.model_copy(update={"test_duration_sec": 2 * 30.0})  # idna-like: 30 s per run
    huge = fast.model_copy(update={"test_duration_sec": 2 * 200.0})
    assert suite_timeout_sec(fast, settings) == 60  # never less than a minute
    assert suite_timeout_sec(slow, settings) == 300  # ten times a gold run
    assert suite_timeout_sec(huge, settings) == 900  # never more than the configured limit


def test_select_named_keeps_the_order_named_then_the_limit():
    from cligym.selection import UnknownName, select_named

    items = ["a1", "b2", "c3"]
    assert select_named(items, lambda s: s[0], (), None) == items
    assert select_named(items, lambda s: s[0], ("c", "a"), None) == ["c3", "a1"]
    assert select_named(items, lambda s: s[0], ("c", "a"), 1) == ["c3"]
    with pytest.raises(UnknownName) as unknown:
        select_named(items, lambda s: s[0], ("a", "z"), None)
    assert unknown.value.name == "z"
    with pytest.raises(ValueError, match="--limit must be at least 1"):
        select_named(items, lambda s: s[0], (), 0)


@pytest.mark.parametrize(
    ("status", "text", "warned"),
    [
        (409, 'Conflict ("removal of container abc is already in progress")', False),
        (409, 'Conflict ("container abc is paused")', True),
        (500, "Internal Server Error", True),
    ],
)
def test_removing_a_container_already_being_removed_is_no_warning(status, text, warned, caplog):
    """On an interrupt, the clean-up and the stage that owned a container both remove it: the
    daemon's 409 "already in progress" is the wanted outcome, not a failure to report."""
    response = requests.Response()
    response.status_code = status

    class Api:
        def remove_container(self, container_id, force, v):
            raise docker.errors.APIError(text, response=response, explanation=text)

    runtime = object.__new__(DockerRuntime)  # no daemon: only the client's reply matters here
    runtime.client = type("Client", (), {"api": Api()})()
    with caplog.at_level("WARNING", logger="cligym.runtime.docker"):
        runtime.remove_container("abc123")
    assert ("could not remove container" in caplog.text) is warned
