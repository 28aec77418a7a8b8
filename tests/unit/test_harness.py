"""Harness adapters and validation plumbing without running a harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from cligym.harness.datasets import DatasetError, base_images, find_task_dirs
from cligym.harness.harbor import parse_trial_result
from cligym.harness.tb import load_tb_task, parse_tb_results
from cligym.records import HarnessRun, TaskValidation


def test_harbor_trial_results_are_parsed():
    ok = parse_trial_result(
        {
            "task_name": "t1",
            "verifier_result": {"rewards": {"reward": 1.0}},
            "started_at": "2026-11-23T10:00:00+00:00",
            "finished_at": "2026-11-23T10:00:04.500000+00:00",
        },
        "oracle",
        "/jobs/x",
    )
    assert (ok.task_name, ok.reward, ok.duration_sec, ok.error) == ("t1", 1.0, 4.5, "")
    crashed = parse_trial_result(
        {
            "task_name": "t2",
            "verifier_result": None,
            "exception_info": {
                "exception_type": "RewardFileNotFoundError",
                "exception_message": "x",
            },
        },
        "nop",
        "",
    )
    assert crashed.reward is None and crashed.error.startswith("RewardFileNotFoundError")


def test_tb_results_are_parsed():
    runs = parse_tb_results(
        {
            "results": [
                {"task_id": "a", "is_resolved": True, "failure_mode": "unset"},
                {"task_id": "b", "is_resolved": False, "failure_mode": "test_timeout"},
                {"task_id": "c", "is_resolved": None, "failure_mode": "agent_installation_failed"},
            ]
        },
        "oracle",
        "/runs/r",
    )
    assert [(r.task_name, r.reward) for r in runs] == [("a", 1.0), ("b", 0.0), ("c", None)]
    assert runs[1].error == "test_timeout" and runs[0].error == ""


def _run(reward):
    return HarnessRun(task_name="t", harness="harbor", agent="x", reward=reward)


@pytest.mark.parametrize(
    ("oracle", "nop", "valid"),
    [(1.0, 0.0, True), (0.0, 0.0, False), (1.0, 1.0, False), (None, 0.0, False)],
)
def test_validity_needs_oracle_one_and_nop_zero(oracle, nop, valid):
    from datetime import UTC, datetime

    v = TaskValidation(
        task_name="t", task_id="i", harness="harbor", oracle=_run(oracle), nop=_run(nop),
        created_at=datetime.now(UTC),
    )
    assert v.valid is valid


def test_task_dirs_are_found_and_wrong_layouts_explained(tmp_path: Path):
    with pytest.raises(DatasetError, match="not a directory"):
        find_task_dirs(tmp_path / "missing", "harbor")
    with pytest.raises(DatasetError, match="no harbor tasks"):
        find_task_dirs(tmp_path, "harbor")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "task.yaml").write_text("instruction: x\n")
    with pytest.raises(DatasetError, match="use --harness tb"):
        find_task_dirs(tmp_path, "harbor")
    assert find_task_dirs(tmp_path, "tb") == [tmp_path / "a"]
    assert find_task_dirs(tmp_path / "a", "tb") == [tmp_path / "a"]
    (tmp_path / "a" / "Dockerfile").write_text("# c\nFROM cligym-gold/x:1\nRUN true\n")
    assert base_images([tmp_path / "a"], "tb") == {"cligym-gold/x:1"}


def test_tb_loader_reports_broken_tasks(tmp_path: Path):
    task = tmp_path / "bad"
    task.mkdir()
    (task / "task.yaml").write_text("instruction: x\ndifficulty: impossible\n")
    assert load_tb_task(task)  # the loader's own validation rejects the difficulty


def test_trial_prefix_follows_harbors_truncation():
    from cligym.harness.harbor import trial_prefix

    long = "stashkit-command-shadowed-on-path-3981bc"
    assert trial_prefix(long) == "stashkit-command-shadowed-on-pat__"
    assert trial_prefix("a-b") == "a-b__" and trial_prefix("x" * 31 + "-y") == "x" * 31 + "__"
