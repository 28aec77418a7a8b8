"""Harbor adapter: `harbor run` over exported task directories, and its trial results."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from cligym.harness.common import HarnessError, harness_executable, log_tail, run_logged
from cligym.records import HarnessRun


def run_harbor(
    dataset: Path,
    agent: str,
    *,
    task_names: Sequence[str],
    jobs_dir: Path,
    job_name: str,
    concurrency: int = 2,
    timeout_sec: int = 3600,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> list[HarnessRun]:
    """One Harbor job of `agent` over the named tasks of `dataset`; one run per trial."""
    argv = [
        str(harness_executable("harbor")),
        "run",
        "-p",
        str(dataset),
        "-a",
        agent,
        "-o",
        str(jobs_dir),
        "--job-name",
        job_name,
        "-n",
        str(concurrency),
        "-y",
        "-q",
    ]
    for name in task_names:
        argv += ["-i", name]
    argv += list(extra_args)
    log_path = jobs_dir / f"{job_name}.log"
    code = run_logged(argv, log_path, timeout_sec, cwd=dataset, env=env)
    runs = parse_harbor_job(jobs_dir / job_name, agent)
    if not runs:
        raise HarnessError(
            f"harbor produced no trial results (exit {code}): {log_tail(log_path)[-300:]}"
        )
    return runs


def trial_prefix(task_name: str) -> str:
    """How Harbor starts the names of a task's trials (and their compose projects)."""
    return f"{task_name[:32].rstrip('_-')}__".lower()


def parse_harbor_job(job_dir: Path, agent: str) -> list[HarnessRun]:
    """Trial results of a Harbor job directory (`<trial>/result.json`)."""
    runs = []
    for path in sorted(job_dir.glob("*/result.json")):
        data = json.loads(path.read_text())
        runs.append(parse_trial_result(data, agent, str(path.parent)))
    return runs


def parse_trial_result(data: dict[str, object], agent: str, trial_dir: str) -> HarnessRun:
    """Pure: one HarnessRun from a Harbor trial's result.json."""
    verifier = data.get("verifier_result") or {}
    rewards = verifier.get("rewards") if isinstance(verifier, dict) else None
    reward = rewards.get("reward") if isinstance(rewards, dict) else None
    exc = data.get("exception_info") or {}
    error = ""
    if isinstance(exc, dict) and exc:
        error = f"{exc.get('exception_type', '')}: {exc.get('exception_message', '')}"[:300]
    return HarnessRun(
        task_name=str(data.get("task_name", "")),
        harness="harbor",
        agent=agent,
        reward=float(reward) if isinstance(reward, int | float) else None,
        error=error,
        duration_sec=_seconds(data.get("started_at"), data.get("finished_at")),
        trial_dir=trial_dir,
    )


def _seconds(start: object, end: object) -> float:
    try:
        a = datetime.fromisoformat(str(start))
        b = datetime.fromisoformat(str(end))
    except ValueError:
        return 0.0
    return round((b - a).total_seconds(), 2)
