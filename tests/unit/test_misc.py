from pathlib import Path

from cligym.ids import content_id, new_run_id, run_id_pid
from cligym.runtime.docker import with_timeout
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
