"""`cligym validate`: run the real harness with its oracle and nop agents over exported tasks.

A task is valid when the oracle (the verified solution) scores 1 and doing nothing scores 0.
Gold images the tasks build `FROM` are loaded from the dataset's `images/` when the local
Docker Engine lacks them, so a dataset runs on a machine that cannot pull from registries.
"""

from __future__ import annotations

import shutil
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from cligym.catalog import Catalog
from cligym.errors import CligymError
from cligym.harness.datasets import (
    Harness,
    find_task_dirs,
    prepare_harness,
    select_task_dirs,
    task_meta,
)
from cligym.harness.harbor import run_harbor, trial_prefix
from cligym.harness.tb import load_tb_task, run_tb
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import HarnessRun, TaskValidation
from cligym.runtime.protocol import Runtime


class ValidateError(CligymError):
    """The dataset cannot be validated as asked."""


@dataclass(frozen=True)
class ValidationReport:
    dataset: Path
    harness: Harness
    results: tuple[TaskValidation, ...]
    load_problems: tuple[tuple[str, str], ...]
    loaded: int
    dropped: tuple[str, ...]
    duration_sec: float

    @property
    def invalid(self) -> list[TaskValidation]:
        return [r for r in self.results if not r.valid]


def validate_dataset(
    dataset: Path,
    harness: Harness,
    *,
    runtime: Runtime,
    jobs_dir: Path,
    catalog: Catalog | None = None,
    names: Sequence[str] = (),
    limit: int | None = None,
    concurrency: int = 2,
    load_only: bool = False,
    drop: bool = False,
    reporter: Reporter = NULL_REPORTER,
) -> ValidationReport:
    """oracle and nop over the dataset's tasks, in the real harness."""
    started = time.monotonic()
    dataset = dataset.expanduser().resolve()
    task_dirs = select_task_dirs(find_task_dirs(dataset, harness), dataset, names, limit)
    load_problems: list[tuple[str, str]] = []
    if harness == "tb":
        for task_dir in task_dirs:
            problem = load_tb_task(task_dir)
            if problem:
                load_problems.append((task_dir.name, problem))
    results: list[TaskValidation] = []
    if not load_only:
        root = task_dirs[0].parent
        prepare_harness(runtime, task_dirs, harness, reporter)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        selected = [p.name for p in task_dirs]
        runs: dict[str, dict[str, HarnessRun]] = {}
        try:
            for agent in ("oracle", "nop"):
                reporter.stage("validate", f"{harness} {agent} on {len(selected)} tasks")
                job = f"validate-{stamp}-{agent}"
                found = _run(
                    harness, root, agent, selected, jobs_dir, job, concurrency,
                    job_timeout_sec(task_dirs, harness, concurrency),
                )
                for run in found:
                    runs.setdefault(run.task_name, {})[agent] = run
                reporter.progress("validate", 1 if agent == "oracle" else 2, 2, agent)
        finally:
            runtime.remove_compose_projects([_project_prefix(n, harness) for n in selected])
        for task_dir in task_dirs:
            meta = task_meta(task_dir, harness)
            got = runs.get(task_dir.name, {})
            validation = TaskValidation(
                task_name=task_dir.name,
                task_id=str(meta.get("cligym_task_id", "")),
                harness=harness,
                oracle=got.get("oracle") or _missing(task_dir.name, harness, "oracle"),
                nop=got.get("nop") or _missing(task_dir.name, harness, "nop"),
                created_at=datetime.now(UTC),
            )
            results.append(validation)
            if catalog is not None and validation.task_id:
                task = catalog.get_task(validation.task_id)
                if task is not None:
                    catalog.put_validation(validation, task.gold_id)
    dropped: list[str] = []
    if drop:
        # a trial that raised (no reward) says nothing about the task: keep it
        graded = [r for r in results if r.oracle.reward is not None and r.nop.reward is not None]
        bad = {r.task_name for r in graded if not r.valid} | {n for n, _ in load_problems}
        for task_dir in task_dirs:
            if task_dir.name in bad and task_dir != dataset:
                shutil.rmtree(task_dir)
                dropped.append(task_dir.name)
    return ValidationReport(
        dataset=dataset,
        harness=harness,
        results=tuple(results),
        load_problems=tuple(load_problems),
        loaded=len(task_dirs) - len(load_problems) if harness == "tb" else 0,
        dropped=tuple(dropped),
        duration_sec=round(time.monotonic() - started, 1),
    )


def _run(
    harness: Harness,
    root: Path,
    agent: str,
    names: Sequence[str],
    jobs_dir: Path,
    job: str,
    concurrency: int,
    timeout: int,
) -> list[HarnessRun]:
    if harness == "harbor":
        return run_harbor(
            root,
            agent,
            task_names=names,
            jobs_dir=jobs_dir,
            job_name=job,
            concurrency=concurrency,
            timeout_sec=timeout,
        )
    return run_tb(
        root,
        agent,
        task_names=names,
        runs_dir=jobs_dir,
        run_id=job,
        concurrency=concurrency,
        timeout_sec=timeout,
    )


def job_timeout_sec(task_dirs: Sequence[Path], harness: Harness, concurrency: int) -> int:
    """A harness job's bound: every task's own build and verifier limits, run `concurrency` at
    a time, plus start-up; an oracle or nop agent takes seconds."""
    per_task = []
    for task_dir in task_dirs:
        if harness == "harbor":
            config = tomllib.loads((task_dir / "task.toml").read_text())
            verifier = float(config.get("verifier", {}).get("timeout_sec", 600))
            build = float(config.get("environment", {}).get("build_timeout_sec", 600))
        else:
            data = yaml.safe_load((task_dir / "task.yaml").read_text()) or {}
            verifier, build = float(data.get("max_test_timeout_sec", 600)), 600.0
        per_task.append(verifier + min(build, 300.0) + 60)
    return int(600 + sum(per_task) / max(1, concurrency))


def _project_prefix(name: str, harness: Harness) -> str:
    """Compose project names the harnesses give a task's trials."""
    return trial_prefix(name) if harness == "harbor" else name.replace(".", "-")


def _missing(name: str, harness: Harness, agent: str) -> HarnessRun:
    return HarnessRun(
        task_name=name, harness=harness, agent=agent, reward=None, error="no trial result"
    )
