"""Search and verification on the real engine: determinism, resume, leaks, hostile faults."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cligym.api import Workspace
from cligym.ids import content_id
from cligym.records import Candidate, FaultCategory, FaultTarget, RejectionReason
from cligym.testbed.attempt import run_attempt
from cligym.verify.contract import verify_candidate

pytestmark = pytest.mark.docker


def _candidate(gold, steps, solution, name="custom"):
    target = FaultTarget(family="file-unreadable", resource="file:/x")
    return Candidate(
        id=content_id("test", gold.id, steps),
        gold_id=gold.id,
        faults=(target,),
        families=(name,),
        categories=(FaultCategory.FILESYSTEM,),
        steps=tuple(steps),
        solution=tuple(solution),
        needs_network=False,
        failing=("x",),
        created_at=datetime.now(UTC),
    )


def test_search_is_deterministic_and_resumes(sample_gold, workspace: Workspace):
    first = workspace.invert(sample_gold.gold.id, budget=6, seed=11, max_faults=2)
    assert len(first.attempts) == 6
    assert first.candidates, "the sample gold env must break in 6 attempts"
    assert {a.reason for a in first.attempts if not a.accepted} <= {
        "no gold-stable test failed"
    } | {a.reason for a in first.attempts if "steps failed" in a.reason}
    again = workspace.invert(sample_gold.gold.id, budget=6, seed=11, max_faults=2)
    assert [a.id for a in again.attempts] == [a.id for a in first.attempts]
    assert [a.created_at for a in again.attempts] == [a.created_at for a in first.attempts]
    stored = {a.id for a in workspace.catalog.list_attempts(sample_gold.gold.id)}
    assert {a.id for a in first.attempts} <= stored


def test_verify_turns_candidates_into_tasks(sample_gold, workspace: Workspace):
    results = workspace.verify(sample_gold.gold.id, limit=3)
    # the family tests may have verified the same breakage already: then it is a duplicate
    duplicate = RejectionReason.DUPLICATE
    assert results and all(r.ok or r.rejection is duplicate for r in results), [
        r.reason for r in results
    ]
    tasks = workspace.list_tasks(sample_gold.gold.id)
    assert tasks
    task = next((t for t in tasks if any(r.task_id == t.id for r in results)), tasks[0])
    assert task.fail_to_pass and set(task.fail_to_pass).isdisjoint(task.pass_to_pass)
    assert set(task.fail_to_pass) | set(task.pass_to_pass) == set(
        sample_gold.gold.stability.stable_passing
    )
    assert task.dockerfile.startswith(f"FROM {sample_gold.gold.image_tag}\nRUN ")
    assert task.difficulty_label in ("easy", "medium", "hard")
    assert workspace.runtime.image_id(task.image_tag) == task.image_id
    assert task.image_bytes_added < 50 * 2**20


def test_the_newest_change_times_do_not_point_at_the_fault(sample_tasks, workspace: Workspace):
    """Steps keep mtimes, but change times cannot be set back: the task image's noise puts
    the files a fault changed among a few hundred others. (Docker's classic builder extracts
    a layer in path order, BuildKit keeps the order of the changes: either way the newest
    change times are mostly noise.)"""

    def change_times(image: str) -> dict[str, str]:
        out = "/tmp/ctimes"
        listing = f"find / -xdev -type f -printf '%C@ %p\\n' > {out} 2>/dev/null; true"
        _, files = workspace.runtime.run(
            image, ["bash", "-c", listing], stage="test", timeout_sec=120, user="root",
            network=False, collect=[out],
        )
        (text,) = files.values()
        rows = (line.split(" ", 1) for line in text.decode().splitlines())
        return {row[1]: row[0] for row in rows if len(row) == 2 and row[1] != out}

    gold = change_times(workspace.get_gold(sample_tasks[0].gold_id).image_tag)
    checked = 0
    for task in sample_tasks:
        broken = change_times(task.image_tag)
        changed = {p for k, p in task.restore_paths if k == "C" and p in broken}
        if not changed:  # (a fault that only removes or adds files)
            continue
        # what the task's layer changed, newest change first
        recent = sorted(
            (p for p, t in broken.items() if gold.get(p) != t), key=lambda p: broken[p],
            reverse=True,
        )
        assert len(set(recent) - changed) >= 100, (task.name, len(recent))
        newest = recent[:20]
        assert len(changed & set(newest)) <= 4, (task.name, newest)
        checked += 1
    assert checked, [t.restore_paths for t in sample_tasks]


BERLIN = "/usr/share/zoneinfo/Europe/Berlin"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (f"cp -p {BERLIN} {BERLIN}.bak", "backup file"),
        (f"cp -p {BERLIN} /tmp/Berlin.saved", "leftover file"),
        ("echo 'rm /usr/share/zoneinfo' > /root/.bash_history", "shell history"),
        ("touch /etc/ssl/openssl.cnf", "modified file has a new mtime"),
    ],
)
def test_planted_leaks_are_caught(extra, reason, sample_gold, workspace: Workspace):
    steps = [f"chmod 0600 {BERLIN}", extra]
    candidate = _candidate(sample_gold.gold, steps, [f"chmod 0644 {BERLIN}"])
    result = verify_candidate(
        sample_gold.gold, candidate, workspace.settings, workspace.runtime, workspace.catalog
    )
    assert result.rejection is RejectionReason.LEAK, result.reason
    assert result.reason.startswith(f"leak: {reason}"), result.reason


def test_a_wrong_solution_is_rejected(sample_gold, workspace: Workspace):
    candidate = _candidate(sample_gold.gold, [f"chmod 0600 {BERLIN}"], ["true"], name="nofix")
    result = verify_candidate(
        sample_gold.gold, candidate, workspace.settings, workspace.runtime, workspace.catalog
    )
    assert not result.ok, result.reason
    assert result.reason.startswith("specific solution scores 0 in the task's verifier: not passed")


def test_hanging_and_fork_bombing_faults_are_contained(sample_gold, workspace: Workspace):
    gold = sample_gold.gold
    hang = run_attempt(workspace.runtime, gold, ["sleep 3600"], timeout_sec=5)
    assert not hang.applied
    bomb = run_attempt(workspace.runtime, gold, ["b() { b | b & }; b; sleep 2"], timeout_sec=20)
    assert bomb.duration_sec < 120
    assert workspace.runtime.run(gold.image_tag, ["true"], stage="test", timeout_sec=30)[0].ok
