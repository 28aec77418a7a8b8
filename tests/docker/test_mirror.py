"""The package mirror of a task's network, in Harbor: tasks whose repair runs apt or pip are
repaired with no way out, through a mirror that answers for deb.debian.org and pypi.org."""

from __future__ import annotations

import socket
import subprocess
import tomllib
from pathlib import Path

import docker
import pytest
import yaml

from cligym.faults.registry import family, ordered_solution, repair_tools
from cligym.harness.harbor import trial_prefix
from cligym.package.mirror import MIRROR_ROOT, mirror_tag
from cligym.records import Task
from cligym.runtime.compose import ensure_compose
from cligym.runtime.mirror_ca import MIRROR_HOSTS
from cligym.testbed.attempt import run_attempt
from tests.docker.candidates import assert_verified

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def downloading_tasks(sample_gold, workspace) -> list[Task]:
    """Tasks whose repair downloads: a truncated library behind a broken apt keyring (apt must
    check Debian's signatures through the mirror) and a removed distribution (pip)."""
    ctx = workspace.fault_context(sample_gold.gold)
    gold = sample_gold.gold
    libs = sorted(family("lib-truncated").targets(ctx), key=lambda t: t.resource)
    keyring = family("apt-keyring-removed").blocker_targets(ctx)[0]
    dists = sorted(family("dist-removed").targets(ctx), key=lambda t: t.resource)
    return [
        _task_of(workspace, gold, [(lib, keyring) for lib in libs]),
        _task_of(workspace, gold, [(dist,) for dist in dists]),
    ]


def _task_of(workspace, gold, options) -> Task:  # type: ignore[no-untyped-def]
    """The task of the first faults that verify as one of their own (other tests of the
    session may have made a task with the same failures and error already: a duplicate)."""
    for faults in options:
        steps = tuple(s for f in faults for s in family(f.family).steps(f))
        outcome = run_attempt(workspace.runtime, gold, steps, timeout_sec=300, network=True)
        if not (outcome.applied and outcome.failing):
            continue  # a library the tests never load: the next one
        assert_verified(workspace, gold, faults, outcome, "test-mirror")
        tasks = workspace.list_tasks(gold.id)
        found = [t for t in tasks if t.faults == tuple(faults)]
        # a duplicate: the task made before with these failures (and error) is the same lesson
        # when its repair downloads with the same tools
        tools = repair_tools(ordered_solution(faults))
        found = found or [
            t for t in tasks
            if set(t.fail_to_pass) == set(outcome.failing) and tools <= repair_tools(t.solution)
        ]
        if found:
            return found[0]
    raise AssertionError(f"no option made a task of its own: {options}")


def test_a_repair_that_downloads_works_through_the_mirror_alone(
    downloading_tasks, workspace, tmp_path: Path
):
    picks = downloading_tasks
    assert "apt-get" in " ".join(picks[0].solution) and "pip" in " ".join(picks[1].solution)
    names = [t.name for t in picks]
    out = tmp_path / "dataset"
    workspace.export(out, "harbor", names=names, network="mirror")
    gold = workspace.get_gold(picks[0].gold_id)
    for task in picks:
        compose = yaml.safe_load((out / task.name / "environment/docker-compose.yaml").read_text())
        assert compose["networks"]["default"] == {"internal": True}
        assert compose["services"]["mirror"]["image"] == mirror_tag(gold)
        meta = tomllib.loads((out / task.name / "task.toml").read_text())["metadata"]
        assert meta["network"] == "mirror"
    # the mirror holds everything installed, not only what a fault removed
    client = docker.from_env()
    listing = client.containers.run(
        mirror_tag(gold), ["sh", "-c", f"find {MIRROR_ROOT} -name '*.deb' | wc -l; "
                           f"ls {MIRROR_ROOT}/pypi.org/simple | wc -l; "
                           f"cat {MIRROR_ROOT}/missing-*.txt 2>/dev/null | wc -l"],
        remove=True,
    ).decode().split()
    debs, projects, missing = map(int, listing)
    assert debs >= 150 and projects >= len(gold.pip_freeze) // 2, listing
    assert missing == 0, "the mirror could not fetch some packages of the gold env"

    report = workspace.validate(out, "harbor", names=names)
    rewards = {r.task_name: (r.oracle.reward, r.nop.reward) for r in report.results}
    assert rewards == {n: (1.0, 0.0) for n in names}, [
        (r.task_name, r.oracle.error, r.nop.error) for r in report.results
    ]
    leftovers = workspace.runtime.remove_compose_projects([trial_prefix(n) for n in names])
    assert leftovers == [], "harbor left trial containers behind"


def test_the_task_network_reaches_the_mirror_and_nothing_else(
    downloading_tasks, workspace, tmp_path: Path
):
    """The exported compose file, brought up by hand: the package hosts resolve to the mirror,
    apt and pip work through it, and nothing else answers."""
    task = downloading_tasks[0]
    out = tmp_path / "dataset"
    workspace.export(out, "harbor", names=[task.name], network="mirror", gold_images="none")
    env = out / task.name / "environment"
    base = tmp_path / "main.yaml"
    base_image = workspace.get_gold(task.gold_id).image_tag
    base.write_text(yaml.safe_dump({"services": {"main": {
        "image": base_image,
        "command": ["sh", "-c", "sleep infinity"]}}}))
    project = f"cligym-mirror-test-{task.id[:8]}"
    # the project directory is the task's environment/, as Harbor passes it: the trusted
    # mount (./cligym-trusted) that starts the container is relative to it
    compose = ["docker", "compose", "-p", project, "--project-directory", str(env), "-f",
               str(base), "-f", str(env / "docker-compose.yaml")]
    ensure_compose()
    subprocess.run([*compose, "up", "-d"], check=True, capture_output=True, cwd=env, timeout=300)
    try:
        def inside(script: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*compose, "exec", "-T", "main", "sh", "-c", script],
                                  capture_output=True, text=True, cwd=env, timeout=300)

        for host in MIRROR_HOSTS:
            assert inside(f"getent hosts {host}").returncode == 0, host
        # the real archive, by address: reachable from a container on Docker's default
        # network (so this check can fail), not from the task's
        real = socket.gethostbyname("deb.debian.org")
        probe = f"import socket; socket.create_connection(('{real}', 80), timeout=5)"
        docker.from_env().containers.run(base_image, ["python3", "-c", probe], remove=True)
        nowhere = inside(f'python3 -c "{probe}"')
        assert nowhere.returncode != 0 and "Error" in nowhere.stderr, nowhere
        apt = inside("apt-get update -qq && apt-get download -qq base-files && ls *.deb")
        assert apt.returncode == 0 and "base-files_" in apt.stdout, apt.stderr[-500:]
        pip = inside("cd /tmp && /opt/venv/bin/pip download -q --no-deps -d w pytest "
                     "&& ls w")
        assert pip.returncode == 0 and "pytest-" in pip.stdout, pip.stderr[-500:]
    finally:
        subprocess.run([*compose, "down", "-v", "--timeout", "1"], capture_output=True, cwd=env,
                       timeout=120)
