"""`cligym run` over three repositories (and one that cannot build), killed with SIGKILL at
several points and stopped once with SIGTERM, then resumed: no duplicate or half-written rows,
no orphans, nothing redone."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cligym.api import Workspace, sample_repo_path
from cligym.config import Settings
from cligym.ids import run_id_pid
from cligym.runtime.docker import LABEL

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PIPELINE = """
[pipeline]
budget = 4
workers = 2
out = "dataset"
gold_images = "none"

[[repo]]
source = "{sample}"
kind = "sample"

[[repo]]
source = "pypi:iniconfig==2.3.0"

[[repo]]
source = "pypi:cachetools==5.5.2"

[[repo]]
source = "pypi:cligym-no-such-package-here==1.0"
"""


def _start(workdir: Path, pipeline: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cligym", "--workdir", str(workdir), "run", str(pipeline)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def _kill_when(
    proc: subprocess.Popen[str],
    markers: tuple[str, ...],
    sig: signal.Signals = signal.SIGKILL,
    timeout: float = 900,
) -> list[str]:
    """Send `sig` to the run as soon as a line containing one of `markers` appears."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if any(marker in line for marker in markers):
            os.kill(proc.pid, sig)
            break
        assert time.monotonic() < deadline, "".join(lines[-20:])
    lines.extend(proc.stdout)
    proc.wait(timeout=60)  # SIGTERM too: the run does not wait for its units to finish
    expected = -signal.SIGKILL if sig == signal.SIGKILL else 128 + sig
    assert proc.returncode == expected, "".join(lines[-20:])
    return lines


def _containers_of(runtime, pids: set[int]) -> list[object]:
    return [
        c
        for c in runtime.client.containers.list(all=True, filters={"label": LABEL})
        if run_id_pid((c.labels or {}).get("cligym.run", "")) in pids
    ]


def _integrity(workdir: Path) -> None:
    with sqlite3.connect(workdir / "catalog.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for table in ("attempts", "candidates", "verify_results", "tasks"):
            for (record,) in conn.execute(f"SELECT record FROM {table}"):
                assert record.startswith("{") and record.endswith("}"), table


def test_run_survives_kill_9_and_resumes(runtime, tmp_path: Path):
    workdir = tmp_path / "work"
    pipeline = tmp_path / "pipeline.toml"
    pipeline.write_text(PIPELINE.format(sample=sample_repo_path()))

    first = _start(workdir, pipeline)
    _kill_when(first, ("[2/4]",))  # mid-inversion
    _integrity(workdir)
    second = _start(workdir, pipeline)
    _kill_when(second, ("verified",))  # mid-verification
    _integrity(workdir)
    third = _start(workdir, pipeline)  # what an orchestrator or Ctrl-C does: stop, not wait
    lines = _kill_when(third, ("accepted", "rejected", "verified"), signal.SIGTERM)
    assert "interrupted" in "".join(lines) and "resume" in "".join(lines)
    assert _containers_of(runtime, {third.pid}) == [], "SIGTERM left containers behind"
    _integrity(workdir)

    ws = Workspace(Settings.from_env(workdir), runtime=runtime)
    attempts_before = {a.id: a.created_at for a in ws.catalog.list_attempts()}

    final = subprocess.run(
        [sys.executable, "-m", "cligym", "--workdir", str(workdir), "run", str(pipeline)],
        capture_output=True, text=True, timeout=1800, env={**os.environ, "COLUMNS": "200"},
    )
    assert final.returncode == 1, final.stdout[-2000:] + final.stderr[-2000:]  # the bad repo
    assert "cligym-no-such-package-here" in final.stdout
    _integrity(workdir)

    golds = ws.list_gold()
    assert sorted(g.name for g in golds) == ["cachetools", "iniconfig", "stashkit"]
    attempts = ws.catalog.list_attempts()
    for gold in golds:
        assert len([a for a in attempts if a.gold_id == gold.id]) == 4
    for attempt_id, created in attempts_before.items():  # finished units were not redone
        assert next(a for a in attempts if a.id == attempt_id).created_at == created
    candidates = ws.catalog.list_candidates()
    verdicts = {v.candidate_id for v in ws.catalog.list_verify_results()}
    assert {c.id for c in candidates} == verdicts
    tasks = ws.list_tasks()
    assert tasks and all(runtime.image_exists(t.image_tag) for t in tasks)
    exported = sorted(p.name for p in (workdir / "dataset").iterdir() if (p / "task.toml").exists())
    assert exported == sorted(t.name for t in tasks)
    assert _containers_of(runtime, {first.pid, second.pid}) == [], "killed runs' containers"

    again = subprocess.run(
        [sys.executable, "-m", "cligym", "--workdir", str(workdir), "run", str(pipeline)],
        capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"},
    )
    assert again.returncode == 1
    assert sorted(t.id for t in ws.list_tasks()) == sorted(t.id for t in tasks)
    assert len(ws.catalog.list_attempts()) == len(attempts)
