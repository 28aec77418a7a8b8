"""The baseline ladder: blind rung scripts, the climb under the task's own verifier (through
FakeRuntime), and the difficulty figures drawn from a task's record."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from cligym.api import Workspace
from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.difficulty.ladder import LADDER, rung_named
from cligym.difficulty.measure import (
    by_task,
    climb,
    ladder_label,
    measured,
    names_culprit,
    solved_by,
)
from cligym.difficulty.summary import summarize
from cligym.errors import CligymError
from cligym.records import BaselineRun, FaultCategory, FaultTarget
from cligym.runtime.fake import FakeRuntime, Reply
from tests.unit.test_package import _task

SOLVED = "=== cligym: agent phase done ==="
LOGS = "/run/cligym-verifier-logs"
TESTS_DIR = {"test.sh": b"#!/tests/busybox sh\n", "busybox": b"\x7fELF"}


def _run(rung: str, reward: float, digest: str | None = None) -> BaselineRun:
    return BaselineRun(
        task_id="t1", rung=rung, level=rung_named(rung).level, reward=reward, reason="r",
        script_digest=rung_named(rung).digest if digest is None else digest,
        duration_sec=1.0, created_at=datetime.now(UTC),
    )


def _engine(task_image: str, rewards: list[str]) -> FakeRuntime:
    fake = FakeRuntime()
    fake.add_image(task_image)
    fake.on("exec", lambda c: Reply(output=f"repaired\n{SOLVED}\n"), contains=SOLVED)
    fake.on("exec", Reply(output="RESULT"), when=lambda c: c.argv == ("/tests/test.sh",))
    answers = iter(rewards)
    fake.on("read_path", lambda c: Reply(files={c.path: next(answers)}),
            contains=f"{LOGS}/reward.txt")
    return fake


# --------------------------------------------------------------------------- the rungs
def test_every_rung_is_valid_bash_and_includes_the_rungs_below():
    for rung in LADDER:
        subprocess.run(["bash", "-n"], input=rung.script, text=True, check=True)
    for lower, higher in pairwise(LADDER):
        assert higher.level == lower.level + 1
        body = lower.script.removeprefix("cd /app\n").removesuffix("true\n")
        assert body in higher.script


def test_rungs_know_nothing_of_the_task():
    """A blind fixer never reads the verifier, the issue text or the reference solution."""
    for rung in LADDER:
        for leak in ("/tests", "/solution", "instruction", "expected.json", "/logs", "reward"):
            assert leak not in rung.script, (rung.name, leak)


def test_the_first_rung_is_the_careless_fixer_and_the_last_rebuilds_the_venv():
    assert [r.name for r in LADDER] == ["tidy", "reinstall-flagged", "reset-config",
                                        "rebuild-venv"]
    assert "dpkg --verify" in LADDER[1].script and "--force-reinstall" in LADDER[1].script
    assert "venv --clear" in LADDER[3].script


# --------------------------------------------------------------------------- the climb
def test_the_climb_stops_at_the_first_rung_the_verifier_accepts():
    task = _task()
    fake = _engine(task.image_tag, ["0", "1"])
    runs = climb(fake, task, TESTS_DIR, timeout_sec=300)
    assert [(r.rung, r.level, r.reward) for r in runs] == [
        ("tidy", 0, 0.0), ("reinstall-flagged", 1, 1.0)
    ]
    containers = fake.calls_of("container")
    assert [c.image for c in containers] == [task.image_tag] * 2
    assert all(c.network and c.stage == "baseline" and c.user == "root" for c in containers)
    agents = [c for c in fake.calls_of("exec") if SOLVED in c.script]
    assert [a.script for a in agents] == [
        f"set -e\n( {LADDER[0].script} )\necho '{SOLVED}'",
        f"set -e\n( {LADDER[1].script} )\necho '{SOLVED}'",
    ]
    assert all(a.timeout_sec == 900 for a in agents)  # at least the ladder's own bound
    tests_in = [c for c in fake.calls_of("extract") if c.path == "/"]
    assert len(tests_in) == 2  # tests/ copied in after each rung, as a harness does
    assert solved_by(runs) == runs[1] and ladder_label(runs) == "reinstall-flagged"


def test_a_task_no_rung_solves_tries_every_rung_and_is_labelled_none():
    task = _task()
    fake = _engine(task.image_tag, ["0"] * len(LADDER))
    runs = climb(fake, task, TESTS_DIR, timeout_sec=300)
    assert [r.rung for r in runs] == [r.name for r in LADDER]
    assert solved_by(runs) is None and measured(runs) and ladder_label(runs) == "none"


def test_the_climb_resumes_from_stored_results_without_a_container():
    task = _task()
    fake = _engine(task.image_tag, [])
    done = [_run("tidy", 0.0), _run("reinstall-flagged", 1.0)]
    assert climb(fake, task, TESTS_DIR, timeout_sec=300, done=done) == done
    assert fake.calls_of("container") == []


def test_a_result_of_an_older_script_of_the_rung_is_measured_again():
    task = _task()
    fake = _engine(task.image_tag, ["1"])
    stale = _run("tidy", 0.0, digest="0123456789abcdef")
    assert by_task([stale]) == {}
    runs = climb(fake, task, TESTS_DIR, timeout_sec=300, done=[stale])
    assert [(r.rung, r.reward, r.script_digest) for r in runs] == [
        ("tidy", 1.0, rung_named("tidy").digest)
    ]
    assert len(fake.calls_of("container")) == 1


def test_an_unfinished_climb_is_not_measured():
    assert ladder_label([]) == "-"
    assert ladder_label([_run("tidy", 0.0)]) == "-"
    assert ladder_label([_run("tidy", 1.0)]) == "tidy"


def test_baseline_results_round_trip_through_the_catalog(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    first, second = _run("tidy", 0.0), _run("reinstall-flagged", 1.0)
    catalog.put_baseline(first, "g1")
    catalog.put_baseline(second, "g1")
    catalog.put_baseline(second, "g1")  # the latest result per (task, rung)
    assert sorted(catalog.list_baselines("g1"), key=lambda r: r.level) == [first, second]
    assert catalog.list_baselines("other") == []


def test_an_unknown_rung_is_one_actionable_line(tmp_path: Path):
    ws = Workspace(Settings(workdir=tmp_path / "w"), runtime=FakeRuntime())  # type: ignore[arg-type]
    with pytest.raises(CligymError, match="no baseline rung 'magic'; rungs are tidy, "):
        ws.baseline(rungs=("magic",))


# --------------------------------------------------------------------------- task figures
def test_a_symptom_that_names_the_broken_library_points_at_its_cause():
    assert names_culprit(_task())  # the excerpt names libsqlite3.so.0


def test_a_symptom_that_does_not_name_the_cause_is_misleading():
    quiet = _task(
        errors={"tests/test_a.py::test_x": "E   AssertionError: 3 != 4"},
        faults=(FaultTarget(family="env-var-poison", resource="env:TZ", params=()),),
    )
    assert not names_culprit(quiet)


def test_an_unknown_task_is_one_actionable_line(tmp_path: Path):
    ws = Workspace(Settings(workdir=tmp_path / "w"), runtime=FakeRuntime())  # type: ignore[arg-type]
    with pytest.raises(CligymError, match="no verified task 'nope'; see `cligym list tasks`"):
        ws.baseline(task_names=("nope",))


def test_exports_carry_the_measured_difficulty(tmp_path: Path):
    import dataclasses

    from cligym.package.export.manifest import manifest_row, write_parquet
    from tests.unit.test_package import _item

    item = dataclasses.replace(_item("none"), baseline="reset-config")
    meta = item.metadata()
    assert (meta["baseline_solved_by"], meta["repair_steps"], meta["error_names_culprit"]) == (
        "reset-config", 1, True
    )
    row = manifest_row(item)
    assert (row["baseline_solved_by"], row["repair_steps"], row["error_names_culprit"]) == (
        "reset-config", 1, True
    )
    write_parquet([row], tmp_path / "m.parquet")  # the schema holds the new columns
    assert _item("none").metadata()["baseline_solved_by"] == "-"


# --------------------------------------------------------------------------- the summary
def test_the_summary_counts_rungs_cumulatively_and_spreads_families():
    chain = _task(solution=("dpkg --configure -a", "sed -i s/x/y/ /etc/apt/sources.list",
                            "apt-get install -y --reinstall tzdata")).model_copy(update={
        "id": "t2", "families": ("tzdata-zone-removed", "dpkg-interrupted"),
        "categories": (FaultCategory.CONFIGURATION, FaultCategory.PACKAGE_MANAGER),
    })
    variant = _task().model_copy(update={
        "id": "t3", "families": ("stale-bytecode",), "categories": (FaultCategory.INTERPRETER,),
    })
    tasks = [_task(), chain, variant]

    def runs(task_id: str, *rewards: float) -> list[BaselineRun]:
        return [_run(r.name, x).model_copy(update={"task_id": task_id})
                for r, x in zip(LADDER, rewards, strict=False)]

    results = {_task().id: runs(_task().id, 0, 1), "t2": runs("t2", 0, 0, 0, 0), "t3": []}
    s = summarize(tasks, results)
    assert dict(s.solved_by) == {"tidy": 0, "reinstall-flagged": 1, "reset-config": 1,
                                 "rebuild-venv": 1}
    assert (s.tasks, s.unsolved, s.unmeasured, s.multi_step) == (3, 1, 1, 1)
    assert s.per_family == {"elf-header-corrupt": 1, "tzdata-zone-removed": 1,
                            "dpkg-interrupted": 1, "stale-bytecode": 1}
    assert s.per_first_family["tzdata-zone-removed"] == 1 and "dpkg-interrupted" not in (
        s.per_first_family)
    assert s.variant_tasks == 1 and len(s.per_category) == 4
    assert dict(s.known) == {"tidy": 2, "reinstall-flagged": 2, "reset-config": 2,
                             "rebuild-venv": 2}
    text = "\n".join(s.lines())
    assert "solves 1/3 (33%), measured on 2/3 only" in text and "categories: 4" in text
    # only the first rung run: its figure is final, the others are not
    tidy_only = summarize(tasks, {t.id: runs(t.id, 0) for t in tasks})
    assert tidy_only.solved_by["tidy"] == 0 and tidy_only.known["tidy"] == 3
    assert tidy_only.known["reinstall-flagged"] == 0
    lines = tidy_only.lines()
    assert lines[0].endswith("solves 0/3 (0%)")
    assert lines[1].endswith("solves 0/3 (0%), measured on 0/3 only")
