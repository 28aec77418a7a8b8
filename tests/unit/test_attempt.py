"""run_attempt through FakeRuntime: the one container it starts, and what it reads back."""

from __future__ import annotations

from cligym.runtime.fake import FakeRuntime, Reply
from cligym.testbed.attempt import run_attempt
from tests.unit.runtime_script import (
    JUNIT,
    PYTEST,
    RESULTS,
    TESTS,
    attempt_script,
    gold_env,
    junit,
    pytest_reply,
)

STEP = "chmod 000 /app/data.txt"


def test_steps_run_as_root_then_the_tests_as_the_tester_in_one_container():
    gold = gold_env()
    fake = FakeRuntime()
    fake.on("run", pytest_reply({TESTS[1]: "PermissionError: data.txt"}))
    outcome = run_attempt(fake, gold, [STEP, "rm -f /etc/x"], timeout_sec=77)

    (call,) = fake.calls
    assert call.op == "run" and call.image == gold.image_tag and call.stage == "invert"
    assert call.argv == (
        "bash",
        "-c",
        "set -e\n"
        "( chmod 000 /app/data.txt )\n"
        "( rm -f /etc/x )\n"
        "set +e\n"
        "echo '=== cligym: steps applied ==='\n"
        "rm -rf /run/cligym-results && mkdir -p /run/cligym-results && "
        "chown tester:tester /run/cligym-results && cd /app && "
        "exec env HOME=/home/tester /usr/sbin/runuser -u tester -- bash -lc "
        "'cd /app && python -m pytest -p no:cacheprovider -o junit_family=xunit1 "
        "--junitxml=/run/cligym-results/junit.xml --continue-on-collection-errors -q -rN'",
    )
    assert (call.user, call.workdir, call.network, call.timeout_sec) == ("root", "/app", False, 77)
    assert call.env == {"PYTHONHASHSEED": "1"} and call.collect == (RESULTS,)

    assert outcome.applied and not outcome.runner_broken and outcome.ran_tests == len(TESTS)
    assert outcome.failing == (TESTS[1],)
    assert outcome.errors == {TESTS[1]: "PermissionError: data.txt"}


def test_a_selection_is_appended_to_the_documented_command_and_judged_alone():
    fake = FakeRuntime()
    fake.on("run", pytest_reply({}, tests=TESTS[:2]))
    outcome = run_attempt(fake, gold_env(), [STEP], timeout_sec=60, select=TESTS[:2],
                          image="other:1", network=True, stage="verify")
    (call,) = fake.calls
    selection = " ".join(TESTS[:2])
    assert call.script == attempt_script([STEP], f"{PYTEST} {selection}")
    assert (call.image, call.network, call.stage) == ("other:1", True, "verify")
    assert outcome.applied and outcome.failing == ()  # the unselected tests are not missing


def test_steps_that_fail_stop_before_the_tests():
    fake = FakeRuntime()
    fake.on("run", Reply(exit_code=1, output="chmod: cannot access '/app/data.txt'"))
    outcome = run_attempt(fake, gold_env(), [STEP], timeout_sec=60)
    assert not outcome.applied and outcome.failing == ()
    assert "cannot access" in outcome.output_tail


def test_no_report_means_every_test_fails_with_a_broken_runner_never_a_pass():
    fake = FakeRuntime()
    fake.on("run", Reply(exit_code=127, output="=== cligym: steps applied ===\nbash: python: no"))
    outcome = run_attempt(fake, gold_env(), [STEP], timeout_sec=60)
    assert outcome.applied and outcome.runner_broken
    assert outcome.failing == tuple(sorted(TESTS))
    assert outcome.errors == {TESTS[0]: "bash: python: no"}


def test_missing_and_skipped_stable_tests_count_as_failing():
    fake = FakeRuntime()
    report = junit(passed=TESTS[:2], skipped=TESTS[2:3])  # TESTS[3] is missing
    fake.on("run", Reply(output="=== cligym: steps applied ===", files={JUNIT: report}))
    outcome = run_attempt(fake, gold_env(), [STEP], timeout_sec=60)
    assert outcome.failing == (TESTS[2], TESTS[3]) and not outcome.runner_broken
    assert outcome.errors[TESTS[2]].startswith("skipped")
    assert outcome.errors[TESTS[3]] == "test missing from the report"


def test_a_timed_out_run_is_a_broken_runner():
    fake = FakeRuntime()
    fake.on("run", Reply(exit_code=124, timed_out=True, output="=== cligym: steps applied ==="))
    outcome = run_attempt(fake, gold_env(), [STEP], timeout_sec=60)
    assert outcome.timed_out and outcome.runner_broken
