"""`cligym demo`: the pipeline on the embedded sample, then an oracle/nop check in Harbor.

The stage sequence is the pipeline's own (`run_pipeline` on a one-repository spec), so the demo
shows what `cligym run` does; only the validation of a few exported tasks is added.
"""

from __future__ import annotations

from dataclasses import dataclass

from cligym.api import SAMPLE_NAME, Workspace, sample_repo_path
from cligym.errors import CligymError
from cligym.package.export.writer import ExportReport
from cligym.pipeline.run import Executor, PipelineReport, run_pipeline
from cligym.pipeline.spec import PipelineSpec, RepoSpec
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import Task
from cligym.validate.dataset import ValidationReport


@dataclass(frozen=True)
class DemoReport:
    gold_id: str
    attempts: int
    tasks: tuple[Task, ...]
    export: ExportReport
    validation: ValidationReport | None  # None: no exported task to check


def plan_demo(budget: int = 24, seed: int = 0) -> PipelineSpec:
    """The sample as a one-repository pipeline, exported as a Harbor dataset."""
    return PipelineSpec(
        repos=(RepoSpec(source=str(sample_repo_path())),),
        budget=budget,
        seed=seed,
        runs=2,
        workers=1,
        verify_jobs=2,
        export_format="harbor",
        out=f"datasets/{SAMPLE_NAME}-harbor",
    )


def run_demo(
    ws: Workspace,
    budget: int = 24,
    seed: int = 0,
    validate_tasks: int = 3,
    executor: Executor | None = None,
    reporter: Reporter = NULL_REPORTER,
) -> DemoReport:
    """Gold to Harbor dataset on the sample, then `validate_tasks` tasks with oracle and nop."""
    report = run_pipeline(ws, plan_demo(budget, seed), executor=executor, reporter=reporter)
    return validate_demo(ws, report, validate_tasks, reporter)


def validate_demo(
    ws: Workspace, report: PipelineReport, validate_tasks: int, reporter: Reporter = NULL_REPORTER
) -> DemoReport:
    (outcome,) = report.repos
    if outcome.error:
        raise CligymError(outcome.error)
    if report.export is None:
        raise CligymError("no verified tasks to export: run `cligym invert`, then `verify`")
    tasks = ws.list_tasks(outcome.gold_id)
    picks = pick_diverse(tasks, validate_tasks, set(report.export.written))
    checked = (
        ws.validate(report.export.out, "harbor", names=[t.name for t in picks], reporter=reporter)
        if picks
        else None
    )
    return DemoReport(outcome.gold_id, outcome.attempts, tuple(tasks), report.export, checked)


def pick_diverse(tasks: list[Task], count: int, exported: set[str]) -> list[Task]:
    """Up to `count` exported tasks, one per fault category first."""
    picked: list[Task] = []
    seen: set[str] = set()
    for task in tasks:
        if task.name in exported and task.categories[0] not in seen and len(picked) < count:
            picked.append(task)
            seen.add(task.categories[0])
    for task in tasks:
        if task.name in exported and task not in picked and len(picked) < count:
            picked.append(task)
    return picked
