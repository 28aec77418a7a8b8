"""The baseline ladder on real sample tasks, under each task's own verifier: the lowest rung
fixes what only needs tidying, and does not fix what needs a specific repair."""

from __future__ import annotations

import pytest

from cligym.api import Workspace
from cligym.difficulty.ladder import LADDER
from cligym.difficulty.measure import ladder_label
from cligym.records import Task
from tests.docker.candidates import assert_verified, first_breaking

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _task_of(workspace: Workspace, gold_id: str, name: str) -> Task:
    """A verified task of one family on the sample (made here, or found if already made)."""
    gold = workspace.get_gold(gold_id)
    target, outcome = first_breaking(workspace, gold, name)
    assert_verified(workspace, gold, (target,), outcome, "test-baseline")
    tasks = [t for t in workspace.list_tasks(gold.id) if t.families == (name,)]
    assert tasks, f"no verified {name} task"
    return tasks[0]


def test_tidying_fixes_a_home_owned_by_root_but_not_an_unreadable_file(
    sample_gold, workspace: Workspace
):
    gold_id = sample_gold.gold.id
    home = _task_of(workspace, gold_id, "home-not-owned")
    unreadable = _task_of(workspace, gold_id, "file-unreadable")
    results = workspace.baseline(gold_id, rungs=("tidy",), task_names=(home.id, unreadable.id))
    assert set(results) == {home.id, unreadable.id}
    assert [(r.rung, r.reward) for r in results[home.id]] == [("tidy", 1.0)]
    assert ladder_label(results[home.id]) == "tidy"
    (run,) = results[unreadable.id]
    assert (run.rung, run.reward, run.timed_out) == ("tidy", 0.0, False)
    assert "not passed" in run.reason, run.reason  # the repair was wrong, not the integrity
    assert ladder_label(results[unreadable.id]) == "-"  # higher rungs not tried
    # stored: asking again runs nothing new and gives the same answers
    assert workspace.baselines()[home.id] == results[home.id]
    assert len(LADDER) == 4
