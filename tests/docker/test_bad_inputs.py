"""Bad input: one actionable line, non-zero exit, no catalog row, no container, no staging."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cligym.ids import run_id_pid
from cligym.runtime.docker import LABEL
from tests.docker.containers import suite_containers

pytestmark = pytest.mark.docker


def run_cli(
    workdir: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cligym", "--workdir", str(workdir), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
    )


def labelled(runtime) -> set[str]:
    return suite_containers(runtime)


def running_pytest(runtime, pid: int) -> bool:
    """Whether a labelled container of process `pid`'s run runs pytest."""
    containers = runtime.client.containers.list(filters={"label": LABEL})
    return any(
        "pytest" in " ".join(c.attrs["Config"]["Cmd"] or [])
        and run_id_pid((c.labels or {}).get("cligym.run", "")) == pid
        for c in containers
    )


def assert_clean_failure(
    proc: subprocess.CompletedProcess[str], workdir: Path, pattern: str, runtime, before: set[str]
) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error:"), proc.stderr
    assert pattern in last, last
    assert labelled(runtime) - before == set()
    staging = workdir / "staging"
    assert not staging.exists() or not any(staging.iterdir())
    if (workdir / "catalog.sqlite3").exists():
        listing = run_cli(workdir, "list", "gold", "--json")
        assert listing.stdout.strip() == "[]"


@pytest.fixture
def fresh_workdir(tmp_path: Path, workspace) -> Path:
    return tmp_path / "work"


@pytest.mark.parametrize(
    ("source", "pattern"),
    [
        ("/nonexistent/cligym/repo", "no such directory"),
        ("{repos}/notpython", "not a Python project"),
        ("{repos}/notests", "has no tests"),
        ("{repos}/badreq", "satisfies the requirement cligym-no-such-distribution-xyzzy"),
        ("{repos}/allfail", "all 2 tests fail"),
        ("pypi:cligym-no-such-project-xyzzy", "no such project"),
        ("pypi:iniconfig==0.0.0.1", "no version 0.0.0.1"),
        ("/nonexistent/repo@v1", "no such git repository"),
    ],
)
def test_bad_source(source, pattern, fresh_workdir, fixture_repos, runtime):
    before = labelled(runtime)
    proc = run_cli(fresh_workdir, "gold", source.format(repos=fixture_repos))
    assert_clean_failure(proc, fresh_workdir, pattern, runtime, before)


def test_fewer_stable_tests_than_min(fresh_workdir, fixture_repos, runtime):
    before = labelled(runtime)
    proc = run_cli(fresh_workdir, "gold", str(fixture_repos / "flaky"), "--min-tests", "50")
    assert_clean_failure(proc, fresh_workdir, "fewer than --min-tests 50", runtime, before)


def test_test_run_timeout(fresh_workdir, fixture_repos, runtime):
    before = labelled(runtime)
    proc = run_cli(
        fresh_workdir,
        "gold",
        str(fixture_repos / "slow"),
        "--test-timeout",
        "8",
        "--min-tests",
        "1",
    )
    assert_clean_failure(proc, fresh_workdir, "did not finish within 8 s", runtime, before)


def test_daemon_down(fresh_workdir, fixture_repos):
    proc = run_cli(
        fresh_workdir,
        "gold",
        str(fixture_repos / "flaky"),
        env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1].startswith("error: Docker daemon is not reachable")
    assert "Traceback" not in proc.stderr


def test_doctor_reports_missing_disk_space(fresh_workdir):
    proc = run_cli(fresh_workdir, "doctor", "--min-free-gb", "1000000")
    assert proc.returncode == 1
    assert "fail disk (docker)" in proc.stdout
    assert (
        "fix: free at least 1e+06 GB" in proc.stdout
        or "fix: free at least 1000000 GB" in proc.stdout
    )


def test_doctor_healthy(fresh_workdir):
    proc = run_cli(fresh_workdir, "doctor", "--min-free-gb", "0.001")
    assert proc.returncode == 0, proc.stdout
    assert "ok docker daemon" in proc.stdout and "ok base image" in proc.stdout


def start_slow_gold(workdir: Path, repo: Path, runtime) -> subprocess.Popen[str]:
    """Start `cligym gold` on a suite that hangs, and wait until pytest runs in a container."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cligym",
            "--workdir",
            str(workdir),
            "gold",
            str(repo),
            "--min-tests",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A suite started in the background (`cmd &` without job control) inherits an ignored
        # SIGINT, and Python keeps it ignored; Ctrl-C is what the test is about.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    while (
        time.monotonic() < deadline
        and not running_pytest(runtime, proc.pid)
        and proc.poll() is None
    ):
        time.sleep(0.5)
    assert running_pytest(runtime, proc.pid), "no test container appeared"
    return proc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_removes_containers(signum, fresh_workdir, fixture_repos, runtime):
    before = labelled(runtime)
    proc = start_slow_gold(fresh_workdir, fixture_repos / "slow", runtime)
    try:
        proc.send_signal(signum)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert labelled(runtime) - before == set()
    staging = fresh_workdir / "staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_kill_9_leaves_orphans_that_gc_collects(fresh_workdir, fixture_repos, runtime):
    before = labelled(runtime)
    proc = start_slow_gold(fresh_workdir, fixture_repos / "slow", runtime)
    proc.kill()
    proc.wait(timeout=60)
    orphans = labelled(runtime) - before
    assert orphans, "a killed run leaves its container (nothing can clean up after SIGKILL)"
    assert any((fresh_workdir / "staging").iterdir())
    gc = run_cli(fresh_workdir, "gc")
    assert gc.returncode == 0, gc.stderr
    assert labelled(runtime) & orphans == set()
    assert not any((fresh_workdir / "staging").iterdir())
    assert "staging dir(s)" in gc.stdout
