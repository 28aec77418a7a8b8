"""verify_candidate through FakeRuntime: the rebuilt image, the containers each clause starts,
and the verdict (with its RejectionReason) drawn from their answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.dedupe import dedupe_key
from cligym.errors import DockerOperationError
from cligym.faults.registry import family, ordered_solution, payload_solution
from cligym.ids import content_id
from cligym.records import (
    Attempt,
    Candidate,
    FaultCategory,
    FaultTarget,
    RejectionReason,
    VerifyResult,
)
from cligym.runtime.fake import FakeRuntime, Reply
from cligym.runtime.protocol import DiffEntry
from cligym.verify.contract import verify_candidate
from cligym.verify.noise import with_noise
from tests.unit.fault_fixtures import context
from tests.unit.runtime_script import TESTS, attempt_script, gold_env, is_pytest, pytest_reply

STEP = "chmod 000 /app/data.txt"
FIX = "chmod 644 /app/data.txt"
SOLVED = "=== cligym: agent phase done ==="
LOGS = "/run/cligym-verifier-logs"
MANIFEST = {
    "boot": {"stdlib_roots": ["/usr/lib/python3.12"], "absent": [], "files": {},
             "stdlib_files": []},
    "trees": {},
    "lib_dirs": ["/usr/lib/x86_64-linux-gnu"],
    "interpreter": "/usr/bin/python3.12",
    "python_home": "/usr",
    "loader": "/lib64/ld-linux-x86-64.so.2",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(workdir=tmp_path / "work")


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


def _candidate(steps=(STEP,), solution=(FIX,), name="c1") -> Candidate:
    return Candidate(
        id=f"cand-{name}",
        gold_id="0123456789abcdef",
        faults=(FaultTarget(family="file-mode", resource="file:/app/data.txt",
                            predicted_tests=(TESTS[1],)),),
        families=("file-mode",),
        categories=(FaultCategory.FILESYSTEM,),
        steps=steps,
        solution=solution,
        needs_network=False,
        failing=(TESTS[1],),
        created_at=datetime.now(UTC),
    )


def _engine(gold, *, reward_after_fix="1", reward_after_restore="1",
            failing=({TESTS[1]: "E   PermissionError"},) * 2,
            diff=(DiffEntry("C", "/app/data.txt"),),
            shell=Reply(output="cligym-shell-ok\n0\n"), rewards=None) -> FakeRuntime:
    """A task image whose tests fail as `failing` says (one reply per run), a gold image the
    grading kit is recorded from, and a verifier giving the rewards."""
    fake = FakeRuntime()
    fake.add_image(gold.image_tag, env={"PATH": "/usr/bin"}, size_bytes=1000,
                   created="2024-06-01T00:00:00.123456789Z")
    fake.add_image(gold.base_image)
    for result in failing:
        fake.on("run", pytest_reply(result), when=is_pytest, times=1)
    fake.on("run", shell, contains="echo cligym-shell-ok")
    # the grading kit, from a gold container
    fake.on("exec", Reply(output="1000\n"), contains="id -u tester")
    fake.on("exec", Reply(output="1000\n"), contains="id -g tester")
    kit = {"/run/cligym-record/manifest.json": json.dumps(MANIFEST),
           "/bin/busybox": b"\x7fELF busybox", "/bin/bash-static": b"\x7fELF bash"}
    fake.on("read_path", Reply(files=kit), image=gold.image_tag, when=lambda c: c.path in kit)
    # the agent phase echoes its marker; the verifier leaves a reward
    fake.on("exec", lambda c: Reply(output=f"fixed\n{SOLVED}\n"), contains=SOLVED)
    rewards = iter(rewards or [reward_after_fix, reward_after_restore])
    fake.on("exec", Reply(output="RESULT: PASS"), when=lambda c: c.argv == ("/tests/test.sh",))
    fake.on("read_path", lambda c: Reply(files={c.path: next(rewards)}),
            contains=f"{LOGS}/reward.txt")
    # the steps on a gold container: what changed, its stat, gold's copy
    fake.on("diff", Reply(diff=tuple(diff)))
    fake.on("exec", Reply(output="/app/data.txt|regular file|100|5\n"), contains="%n|%F|%Y|%s")
    fake.on("exec", Reply(output="/app/data.txt|regular file|644|0|0|100\n"),
            contains="%n|%F|%a|%u|%g|%Y")
    fake.on("read_path", Reply(files={"/app/data.txt": b"hello"}), contains="/app/data.txt")
    return fake


def test_a_real_repairable_fault_becomes_a_task(settings, catalog):
    gold = gold_env()
    fake = _engine(gold)
    candidate = _candidate()
    result = verify_candidate(gold, candidate, settings, fake, catalog)

    assert result.ok and result.rejection is None and result.reason == "verified"
    task = catalog.get_task(result.task_id)
    assert task.fail_to_pass == (TESTS[1],)
    assert task.pass_to_pass == (TESTS[0], TESTS[2], TESTS[3])
    assert task.restore_paths == (("C", "/app/data.txt"),)
    assert task.dockerfile == f"FROM {gold.image_tag}\nRUN {with_noise([STEP])}\n"

    (build,) = fake.calls_of("build")
    tag = build.image
    assert tag.startswith("cligym-task/demo:") and build.stage == "task"
    assert build.files == {"Dockerfile": task.dockerfile.encode()}
    assert build.labels == {"cligym.candidate": candidate.id}
    assert task.image_tag == tag

    # 1. the tests in the rebuilt image, no steps, as the tester: they fail what the
    #    attempt's run failed, so that is the second run; 2. a shell
    runs = fake.calls_of("run")
    assert [c.image for c in runs] == [tag, tag]
    assert runs[0].script == attempt_script([])
    assert all(c.stage == "verify" and c.user == "root" and not c.network for c in runs)
    assert runs[1].argv == ("bash", "-c", "echo cligym-shell-ok && ls / >/dev/null && id -u")

    # 3. the verifier after the specific solution, then after the restore from gold
    verifier_boxes = [c for c in fake.calls_of("container") if c.image == tag]
    assert len(verifier_boxes) == 2
    agent = [c for c in fake.calls_of("exec") if SOLVED in c.script]
    assert agent[0].script == f"set -e\n( {FIX} )\necho '{SOLVED}'"
    assert agent[1].script == f"set -e\n( true )\necho '{SOLVED}'"  # the file comes back whole
    assert all(c.workdir is None for c in agent)  # the image's WORKDIR, as a harness runs it
    graders = [c for c in fake.calls_of("exec") if c.argv == ("/tests/test.sh",)]
    assert len(graders) == 2 and not any(c.bound_inside for c in graders)
    assert all(c.env == {"CLIGYM_VERIFIER_LOGS": LOGS} for c in graders)
    tests_dirs = [c for c in fake.calls_of("extract") if c.path == "/"]
    assert {"/tests/test.sh", "/tests/grader.py", "/tests/busybox"} <= set(tests_dirs[0].files)
    restored = [c for c in fake.calls_of("extract") if c.path == "/app"]
    assert restored and restored[0].files == {"/app/data.txt": b"hello"}

    # every container opened was closed
    opened = {c.container for c in fake.calls_of("container")}
    assert opened == {c.container for c in fake.calls_of("remove_container")}
    assert fake.calls_of("remove_image") == []


def _verdict(gold, fake, settings, catalog, candidate=None) -> VerifyResult:
    candidate = candidate or _candidate()
    result = verify_candidate(gold, candidate, settings, fake, catalog)
    assert not result.ok and result.task_id is None
    assert catalog.get_verify_result(candidate.id) == result
    return result


def _removed(fake: FakeRuntime) -> list[str]:
    return [c.image for c in fake.calls_of("remove_image")]


def test_a_fault_whose_tests_pass_in_the_rebuilt_image_is_rejected(settings, catalog):
    gold = gold_env()
    fake = _engine(gold, failing=({}, {}))
    result = _verdict(gold, fake, settings, catalog)
    assert result.rejection is RejectionReason.NO_FAILURE
    assert result.reason == "no gold-stable test fails in the rebuilt image"
    (build,) = fake.calls_of("build")
    assert _removed(fake) == [build.image]  # the task image does not outlive the verdict
    assert len(fake.calls_of("run")) == 1 and fake.calls_of("container") == []


def test_a_fault_failing_different_tests_twice_is_nondeterministic(settings, catalog):
    """The rebuilt image fails more than the attempt did: a second run of it decides, and
    it fails something else again."""
    gold = gold_env()
    fake = _engine(gold, failing=({TESTS[1]: "E", TESTS[2]: "E"}, {TESTS[1]: "E"}))
    result = _verdict(gold, fake, settings, catalog)
    assert result.rejection is RejectionReason.NONDETERMINISTIC
    assert result.reason == "nondeterministic: 2 vs 1 failing"
    assert len([c for c in fake.calls_of("run") if is_pytest(c)]) == 2


def test_the_rebuilt_image_decides_when_it_fails_other_tests_than_the_attempt(
    settings, catalog
):
    """The attempt's run is one of the two runs only when it agrees: otherwise the rebuilt
    image runs twice, and what it fails both times (what the task ships) is FAIL_TO_PASS."""
    gold = gold_env()
    both = {TESTS[1]: "E   PermissionError", TESTS[2]: "E   PermissionError"}
    fake = _engine(gold, failing=(both, both))
    result = verify_candidate(gold, _candidate(), settings, fake, catalog)
    assert result.ok, result.reason
    assert catalog.get_task(result.task_id).fail_to_pass == (TESTS[1], TESTS[2])
    assert len([c for c in fake.calls_of("run") if is_pytest(c)]) == 2


def test_a_failed_build_is_rejected_with_its_first_line(settings, catalog):
    gold = gold_env()
    fake = _engine(gold)
    fake.on("build", Reply(error=DockerOperationError("step 2 failed: chmod: missing\nmore")))
    result = _verdict(gold, fake, settings, catalog)
    assert result.rejection is RejectionReason.BUILD_FAILED
    assert result.reason == "docker build failed: step 2 failed: chmod: missing"
    assert fake.calls_of("run") == []


def test_a_solution_the_verifier_scores_0_is_rejected(settings, catalog):
    gold = gold_env()
    fake = _engine(gold, reward_after_fix="0")
    result = _verdict(gold, fake, settings, catalog)
    assert result.rejection is RejectionReason.SOLUTION_FAILS
    assert result.reason.startswith("specific solution scores 0 in the task's verifier")


def test_a_broken_shell_is_rejected(settings, catalog):
    gold = gold_env()
    fake = _engine(gold, shell=Reply(exit_code=126, output="bash: /bin/ls: Permission denied"))
    result = _verdict(gold, fake, settings, catalog)
    assert result.rejection is RejectionReason.SHELL_NOT_OPERABLE
    assert result.reason == "shell not operable: bash: /bin/ls: Permission denied"


def test_a_leftover_backup_is_a_leak(settings, catalog):
    gold = gold_env()
    diff = (DiffEntry("C", "/app/data.txt"), DiffEntry("A", "/app/data.txt.bak"))
    fake = _engine(gold, diff=diff)
    result = _verdict(gold, fake, settings, catalog)
    assert result.rejection is RejectionReason.LEAK
    assert result.reason == "leak: backup file: /app/data.txt.bak"


def test_the_same_breakage_twice_is_a_duplicate(settings, catalog):
    gold = gold_env()
    first = verify_candidate(gold, _candidate(name="one"), settings, _engine(gold), catalog)
    assert first.ok
    fake = _engine(gold)
    other = _candidate(steps=("chmod 000 /app/data.txt && true",), name="two")
    result = _verdict(gold, fake, settings, catalog, other)
    assert result.rejection is RejectionReason.DUPLICATE
    assert result.reason == f"duplicate of task {first.task_id}"
    assert _removed(fake) == [fake.calls_of("build")[0].image]


def test_a_stored_verdict_is_not_verified_again(settings, catalog):
    gold = gold_env()
    first = verify_candidate(gold, _candidate(), settings, _engine(gold), catalog)
    fake = FakeRuntime()
    assert verify_candidate(gold, _candidate(), settings, fake, catalog) == first
    assert fake.calls == []


def test_old_catalog_rows_get_their_kind_from_the_reason_text():
    old = {"candidate_id": "c", "ok": False, "reason": "leak: backup file: /x.bak"}
    assert VerifyResult.model_validate_json(json.dumps(old)).rejection is RejectionReason.LEAK
    ok = VerifyResult.model_validate({"candidate_id": "c", "ok": True, "reason": "verified"})
    assert ok.rejection is None
    attempt = {
        "id": "a", "gold_id": "g", "run_id": "r", "seed": 0, "index": 0, "families": ["f"],
        "resources": ["env:X"], "accepted": False, "reason": "no gold-stable test failed",
        "failing_count": 0, "duration_sec": 0.1, "created_at": "2024-01-01T00:00:00Z",
    }
    assert Attempt.model_validate(attempt).rejection is RejectionReason.NO_FAILURE
    odd = {**attempt, "reason": "something from an older release"}
    assert Attempt.model_validate(odd).rejection is RejectionReason.UNKNOWN
    new = Attempt.model_validate({**attempt, "rejection": "steps-failed"})
    assert new.rejection is RejectionReason.STEPS_FAILED
    assert json.loads(new.model_dump_json())["rejection"] == "steps-failed"


# --------------------------------------------------------------------------- repair chains
def _chain() -> Candidate:
    """A time zone removed (repaired with apt) while dpkg's journal says a run was cut short."""
    ctx = context()
    payload = family("tzdata-zone-removed").targets(ctx)[0]
    (blocker,) = family("dpkg-interrupted").blocker_targets(ctx)
    faults = (payload, blocker)
    return _candidate(
        steps=tuple(s for f in faults for s in family(f.family).steps(f)),
        solution=ordered_solution(faults), name="chain",
    ).model_copy(update={"faults": faults, "families": tuple(f.family for f in faults)})


def test_a_chain_is_a_task_when_the_payloads_repair_alone_scores_zero(settings, catalog):
    gold = gold_env()
    fake = _engine(gold, rewards=["1", "0", "1"])
    candidate = _chain()
    result = verify_candidate(gold, candidate, settings, fake, catalog)
    assert result.ok, result.reason
    agent = [c.script for c in fake.calls_of("exec") if SOLVED in c.script]
    full, partial = candidate.solution, payload_solution(candidate.faults)
    assert full[0] == "dpkg --configure -a" and partial == full[1:]  # the tool comes first
    assert agent[0] == "\n".join(["set -e", *(f"( {s} )" for s in full), f"echo '{SOLVED}'"])
    assert agent[1] == "\n".join(["set -e", *(f"( {s} )" for s in partial), f"echo '{SOLVED}'"])


def test_a_chain_whose_payload_repair_works_alone_is_rejected(settings, catalog):
    gold = gold_env()
    fake = _engine(gold, rewards=["1", "1"])
    result = verify_candidate(gold, _chain(), settings, fake, catalog)
    assert not result.ok and result.rejection is RejectionReason.CHAIN_DOES_NOT_HOLD
    assert "without mending the broken tool" in result.reason


def test_a_chain_is_not_a_duplicate_of_its_payload():
    gold, chain = gold_env(), _chain()
    single = chain.model_copy(update={"faults": chain.faults[:1]})
    failing = (TESTS[1],)
    assert dedupe_key(gold, chain, failing, "sig") != dedupe_key(gold, single, failing, "sig")
    # without blockers, the key is what it always was
    assert dedupe_key(gold, single, failing, "sig") == content_id("task", gold.id, failing, "sig")


def test_a_chain_and_its_payload_stay_two_tasks_in_the_drivers_catalog(settings, catalog, tmp_path):
    """A Ray worker's records go to the driver's catalog under the key verification gave
    them: with the blockers left out of it, the chain replaced its payload's single there."""
    from cligym.pipeline.bundle import export_records, import_records

    gold = gold_env()
    catalog.put_gold(gold)
    chain = _chain()
    single = chain.model_copy(
        update={"id": "single", "faults": chain.faults[:1], "families": chain.families[:1]}
    )
    for index, (candidate, rewards) in enumerate(((single, None), (chain, ["1", "0", "1"]))):
        attempt = Attempt(
            id=f"a{index}", gold_id=gold.id, run_id="r", seed=0, index=index,
            families=candidate.families, resources=tuple(f.resource for f in candidate.faults),
            accepted=True, reason="ok", failing_count=1, candidate_id=candidate.id,
            duration_sec=1.0, created_at=datetime.now(UTC),
        )
        catalog.put_attempt(attempt, candidate)
        engine = _engine(gold, rewards=rewards) if rewards else _engine(gold)
        assert verify_candidate(gold, candidate, settings, engine, catalog).ok
    assert len(catalog.list_tasks()) == 2
    driver = Catalog(tmp_path / "driver.sqlite3")
    import_records(driver, export_records(catalog, gold.id))
    assert {t.id for t in driver.list_tasks()} == {t.id for t in catalog.list_tasks()}
