"""Terminal-Bench 1 adapter: its own task loader, and `tb run` with its results file."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from cligym.harness.common import HarnessError, harness_executable, log_tail, run_logged
from cligym.records import HarnessRun


def load_tb_task(task_dir: Path) -> str:
    """Load a task with Terminal-Bench's own TrialHandler; '' when valid, else the problem."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")  # no network at import
    try:
        from terminal_bench.handlers.trial_handler import TrialHandler
    except ImportError as err:
        raise HarnessError("terminal-bench is missing: pip install 'cligym[harness]'") from err
    try:
        handler = TrialHandler(trial_name=f"{task_dir.name}.load", input_path=task_dir)
        paths = handler.task_paths
        missing = [
            p.name
            for p in (paths.run_tests_path, paths.docker_compose_path, paths.test_dir)
            if not p.exists()
        ]
        _ = paths.solution_path  # raises when neither solution.sh nor solution.yaml exists
    except Exception as err:  # the loader's own validation errors, whatever their type
        return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]
    return f"missing {', '.join(missing)}" if missing else ""


def run_tb(
    dataset: Path,
    agent: str,
    *,
    task_names: Sequence[str],
    runs_dir: Path,
    run_id: str,
    concurrency: int = 2,
    timeout_sec: int = 3600,
) -> list[HarnessRun]:
    """One `tb run` of `agent` over the named tasks; one HarnessRun per trial."""
    argv = [
        str(harness_executable("tb")),
        "run",
        "--agent",
        agent,
        "--dataset-path",
        str(dataset),
        "--output-path",
        str(runs_dir),
        "--run-id",
        run_id,
        "--n-concurrent",
        str(concurrency),
        "--no-upload-results",
    ]
    for name in task_names:
        argv += ["--task-id", name]
    log_path = runs_dir / f"{run_id}.log"
    code = run_logged(argv, log_path, timeout_sec, cwd=dataset)
    results = runs_dir / run_id / "results.json"
    if not results.is_file():
        raise HarnessError(f"tb produced no results (exit {code}): {log_tail(log_path)[-300:]}")
    return parse_tb_results(json.loads(results.read_text()), agent, str(runs_dir / run_id))


def parse_tb_results(data: dict[str, object], agent: str, run_dir: str) -> list[HarnessRun]:
    """Pure: HarnessRuns from a `tb run` results.json (resolved = reward 1)."""
    runs = []
    trials = data.get("results") or []
    for trial in trials if isinstance(trials, list) else []:
        resolved = trial.get("is_resolved")
        failure = str(trial.get("failure_mode", "unset"))
        runs.append(
            HarnessRun(
                task_name=str(trial.get("task_id", "")),
                harness="tb",
                agent=agent,
                reward=None if resolved is None else float(bool(resolved)),
                error="" if failure in ("unset", "none") else failure,
                trial_dir=f"{run_dir}/{trial.get('task_id', '')}",
            )
        )
    return runs
