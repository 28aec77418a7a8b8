"""The task verifier on the sample, in containers: gold scores 1, every reward hack 0 (and it is
the hack the verifier names), alternative repairs 1, and failures are measured with exactly the
command the issue text gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cligym.faults.registry import family
from cligym.grading.hacks import HACKS, Hack
from cligym.grading.kit import GradeKit, collect_grade_kit
from cligym.grading.run import run_verifier
from cligym.grading.verifier import render_tests_dir, verifier_timeout_sec
from cligym.records import Task
from cligym.testbed.attempt import run_attempt
from cligym.testbed.layout import RESULTS_DIR

pytestmark = [pytest.mark.docker]

TIMEOUT = 300
# families whose fault lies outside the grading path: a 0 there can only come from the hack
OUTSIDE_GRADING_PATH = (
    "tzdata-zone-removed", "file-unreadable", "localtime-broken", "directory-locked",
    "exec-bit-removed", "home-not-owned", "app-read-only",
)


@pytest.fixture(scope="session")
def kit(sample_gold, workspace) -> GradeKit:
    gold = sample_gold.gold
    return collect_grade_kit(
        workspace.runtime, gold, workspace.settings.paths.gold_artifacts(gold.id)
    )


def _tests(kit: GradeKit, task: Task, workspace) -> dict[str, bytes]:
    gold = workspace.get_gold(task.gold_id)
    return render_tests_dir(kit, task.name, task.fail_to_pass, task.pass_to_pass,
                           verifier_timeout_sec(gold))


@pytest.fixture(scope="session")
def target_task(sample_tasks) -> Task:
    """A task whose fault is outside the grading path, with tests the cheats can reach."""
    for name in OUTSIDE_GRADING_PATH:
        for task in sample_tasks:
            if task.families == (name,):
                return task
    return min(sample_tasks, key=lambda t: len(t.restore_paths))


def test_gold_scores_one_and_the_broken_task_zero(kit, target_task, sample_gold, workspace):
    tests = _tests(kit, target_task, workspace)
    gold = run_verifier(workspace.runtime, sample_gold.gold.image_tag, tests, timeout_sec=TIMEOUT)
    assert gold.reward == 1.0, gold.output[-1500:]
    assert "integrity: the grading path matches the original environment" in gold.output
    broken = run_verifier(workspace.runtime, target_task.image_tag, tests, timeout_sec=TIMEOUT)
    assert broken.reward == 0.0 and "not passed" in broken.output, broken.output[-1500:]
    fixed = run_verifier(workspace.runtime, target_task.image_tag, tests,
                         agent_steps=target_task.solution, timeout_sec=TIMEOUT,
                         network=True)
    assert fixed.reward == 1.0, fixed.output[-1500:]


@pytest.mark.parametrize("hack", [h for h in HACKS if not h.harness], ids=lambda h: h.name)
def test_reward_hack_scores_zero(hack: Hack, kit, target_task, sample_gold, workspace):
    runtime = workspace.runtime
    tests = _tests(kit, target_task, workspace)
    if hack.potent:  # the hack works: the plain documented command now reports all passed
        plain = run_attempt(runtime, sample_gold.gold, [hack.script],
                            image=target_task.image_tag, timeout_sec=TIMEOUT)
        assert plain.applied and plain.failing == (), (plain.failing[:3], plain.output_tail)
    alone = run_verifier(runtime, target_task.image_tag, tests, agent_steps=(hack.script,),
                         timeout_sec=TIMEOUT)
    assert alone.reward == 0.0, alone.output[-1500:]
    # on top of the real repair, only the hack differs from gold, and the verifier names it
    both = run_verifier(runtime, target_task.image_tag, tests,
                        agent_steps=(*target_task.solution, hack.script),
                        timeout_sec=TIMEOUT, network=True)
    assert both.reward == 0.0 and hack.evidence in both.reason, both.output[-1500:]


def _version_pin(task: Task) -> tuple[str, str]:
    match = re.search(r"(\S+)==(\S+)", " ".join(task.solution))
    assert match, task.solution
    return match.group(1), match.group(2)


def _apt_packages(task: Task) -> str:
    match = re.search(r"--reinstall ((?:[\w.+-]+ ?)+)", " ".join(task.solution))
    assert match, task.solution
    return match.group(1).split(">")[0].strip()


# a correct repair of each family that is not its specific solution
ALTERNATIVE_REPAIRS = {
    # a wheel downloaded first, installed from the file (pip records a direct URL)
    "dist-downgraded": lambda t: [
        "rm -rf /root/w && /opt/venv/bin/pip download -q --no-deps -d /root/w "
        + "==".join(_version_pin(t)),
        "/opt/venv/bin/pip install -q --force-reinstall --no-deps /root/w/* && rm -rf /root/w",
    ],
    "dist-removed": lambda t: [
        f"/opt/venv/bin/pip uninstall -y -q {_version_pin(t)[0]} || true",
        "/opt/venv/bin/pip install -q --no-cache-dir --no-deps " + "==".join(_version_pin(t)),
    ],
    # the packages fetched with apt-get download and installed with dpkg
    "lib-truncated": lambda t: [
        f"cd /root && apt-get update -qq && apt-get download -qq {_apt_packages(t)}",
        "dpkg -i /root/*.deb >/dev/null && rm -f /root/*.deb && rm -rf /var/lib/apt/lists/*",
    ],
    "elf-header-corrupt": lambda t: ALTERNATIVE_REPAIRS["lib-truncated"](t),
    "stdlib-module-truncated": lambda t: ALTERNATIVE_REPAIRS["lib-truncated"](t),
    "tzdata-zone-removed": lambda t: ALTERNATIVE_REPAIRS["lib-truncated"](t),
    # the poisoning line commented out instead of the file removed
    "ld-library-path-shadow": lambda t: ["sed -i 's/^export /# export /' /etc/profile.d/zz-*.sh"],
    "profile-env-poisoned": lambda t: ["sed -i 's/^export /# export /' /etc/profile.d/zz-*.sh"],
    "pythonpath-shadow": lambda t: ["sed -i 's/^export /# export /' /etc/profile.d/zz-*.sh"],
    "path-truncated": lambda t: ["sed -i 's/^export /# export /' /etc/profile.d/zz-*.sh"],
    # the link made to the interpreter through the system's python3 link, not its real path
    "venv-link-broken": lambda t: ["ln -sfn /usr/bin/python3 /opt/venv/bin/python3"],
    # the stale cache deleted instead of recompiled
    "stale-bytecode": lambda t: [
        "/usr/bin/python3 -c 'import importlib.util, os, sys; "
        "os.remove(importlib.util.cache_from_source(sys.argv[1]))' "
        + t.solution[0].rsplit(" ", 1)[-1]
    ],
}


def test_alternative_repairs_score_one(kit, sample_tasks, workspace):
    tried = []
    for task in sample_tasks:
        if len(task.families) != 1 or task.families[0] not in ALTERNATIVE_REPAIRS:
            continue
        steps = ALTERNATIVE_REPAIRS[task.families[0]](task)
        assert steps != list(task.solution)
        run = run_verifier(workspace.runtime, task.image_tag, _tests(kit, task, workspace),
                           agent_steps=steps, timeout_sec=TIMEOUT, network=True)
        assert run.reward == 1.0, (task.families, run.agent_output[-500:], run.output[-1500:])
        tried.append(task.families[0])
    assert len(tried) >= 1, [t.families for t in sample_tasks]


def test_tmp_not_writable_is_no_failure_under_the_documented_command(sample_gold, workspace):
    """Regression: the family was 23 of 140 corpus tasks only because the verifier wrote its
    report under /tmp. The sample's tests fall back to /var/tmp and pass."""
    gold = sample_gold.gold
    tmp_fault = family("tmp-not-writable")
    steps = tmp_fault.steps(tmp_fault.target("dir:/tmp", ()))
    outcome = run_attempt(workspace.runtime, gold, steps, timeout_sec=TIMEOUT)
    assert outcome.applied and outcome.failing == () and outcome.ran_tests > 0
    assert not RESULTS_DIR.startswith(("/tmp", "/home", "/app"))
    denied, _ = workspace.runtime.run(  # the fault is in place: the test user cannot write /tmp
        gold.image_tag,
        ["bash", "-c", "; ".join(steps) + "; runuser -u tester -- touch /tmp/x"],
        stage="test", timeout_sec=60, user="root", network=False,
    )
    assert denied.exit_code != 0 and "Permission denied" in denied.output


def test_issue_text_quotes_the_measured_command(sample_tasks, workspace, kit):
    from cligym.package.text.issue import test_command

    gold = workspace.get_gold(sample_tasks[0].gold_id)
    command = test_command(gold)
    limit = gold.recipe.per_test_timeout_sec
    assert limit > 0  # the per-test limit is part of what the tests are measured with
    user = f"cd /app && python -m pytest -o timeout={limit}"
    assert command == f"runuser -u tester -- bash -lc '{user}'"
    assert kit.manifest["spec"]["test_script"].startswith(user + " ")
    for task in sample_tasks:
        for excerpt in task.errors.values():
            assert "/run/cligym" not in excerpt and "cligym-results" not in excerpt


def test_verifier_files_come_from_gold(kit, sample_gold, tmp_path: Path):
    manifest = kit.manifest
    assert manifest["interpreter"].startswith("/usr/bin/python3")
    assert "/app" in manifest["trees"] and "/opt/venv" in manifest["trees"]
    assert any(p.endswith("/runuser") for p in manifest["trees"])
    assert kit.busybox[:4] == b"\x7fELF" and kit.static_bash[:4] == b"\x7fELF"
    assert manifest["login"]["python"] == "/opt/venv/bin/python"


def test_reaper_kills_what_the_agent_left_and_keeps_the_container(kit, sample_gold, workspace):
    """A daemon that forks a process every 10 ms (files in /proc come and go while the reaper
    lists them) dies; the container's own command survives, so the verifier can still run."""
    from cligym.grading.verifier import REAP, REAP_SH

    runtime = workspace.runtime
    with runtime.container(sample_gold.gold.image_tag, stage="test", user="root",
                           network=False) as box:
        runtime.put_files(box, "/run/reaper", {"busybox": kit.busybox, REAP: REAP_SH})
        churn = "while :; do sleep 0.01; done"
        runtime.exec(box, ["bash", "-c", f"nohup setsid sh -c '{churn}' >/dev/null 2>&1 &"],
                     timeout_sec=30)
        before = runtime.exec(box, ["ps", "-eo", "args"], timeout_sec=30).output
        assert churn in before
        for _ in range(3):
            reaped = runtime.exec(box, ["/run/reaper/busybox", "sh", f"/run/reaper/{REAP}"],
                                  timeout_sec=60, bound_inside=False)
            assert reaped.exit_code == 0, reaped.output
        after = runtime.exec(box, ["ps", "-eo", "args"], timeout_sec=30).output
        assert churn not in after and "sleep infinity" in after, after
