"""Run gold -> probe -> invert -> verify -> package for every repository, then export.

Each repository is one work unit on the executor; a unit's failure is recorded and never stops
the others. Every stage underneath is idempotent and keyed by content hashes (gold ids, attempt
ids, candidate ids), so running the same command again after a crash, even a `kill -9`, redoes
only what was not finished; containers of the dead run are collected first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from cligym.api import OUT_HINT, Workspace
from cligym.config import ensure_dir
from cligym.errors import CligymError
from cligym.gold.build import GoldRequest
from cligym.package.export.writer import ExportReport
from cligym.pipeline.spec import PipelineSpec, RepoSpec
from cligym.progress import NULL_REPORTER, Reporter

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RepoOutcome:
    source: str
    name: str = ""
    gold_id: str = ""
    stable_tests: int = 0
    attempts: int = 0
    candidates: int = 0
    tasks: int = 0
    duration_sec: float = 0.0
    error: str = ""
    new_tasks: int = 0  # verified by this run (a resumed run finds the others done)


@dataclass(frozen=True)
class PipelineReport:
    repos: tuple[RepoOutcome, ...]
    export: ExportReport | None
    duration_sec: float

    @property
    def tasks(self) -> int:
        return sum(r.tasks for r in self.repos)

    @property
    def new_tasks(self) -> int:
        return sum(r.new_tasks for r in self.repos)

    @property
    def tasks_per_hour(self) -> float:
        """Tasks this run verified per hour of its wall time (export included)."""
        return self.new_tasks / (self.duration_sec / 3600) if self.duration_sec else 0.0


class Executor(Protocol):
    """Runs work units; yields results as they finish (order not kept)."""

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]: ...


@dataclass(frozen=True)
class LocalExecutor:
    """A thread pool on this machine (units spend their time in containers, not in Python)."""

    workers: int

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        pool = ThreadPoolExecutor(max_workers=max(1, self.workers))
        try:
            futures = [pool.submit(fn, item) for item in items]
            for future in as_completed(futures):
                yield future.result()
        finally:
            # On an interrupt the queued units must not start; running ones are the caller's
            # to abandon (all futures are done when the loop ends normally).
            pool.shutdown(wait=False, cancel_futures=True)


def default_workers() -> int:
    """One repository per core: each unit keeps about one core busy in its containers."""
    return max(1, os.cpu_count() or 1)


@dataclass
class _RepoReporter:
    """Stage lines and bars of one unit, named after its repository (`invert six`)."""

    inner: Reporter
    label: str
    open_bars: dict[str, int] = field(default_factory=dict)

    def stage(self, stage: str, message: str) -> None:
        self.inner.stage(stage, f"{self.label}: {message}")

    def progress(self, stage: str, done: int, total: int, label: str = "") -> None:
        name = f"{stage} {self.label}"
        self.open_bars[name] = total
        if done >= total:
            self.open_bars.pop(name, None)
        self.inner.progress(name, done, total, label)

    def finish(self) -> None:
        """Close the bars of stages the unit left early (a failure), so none hangs around."""
        for name, total in list(self.open_bars.items()):
            self.inner.progress(name, total, total)
        self.open_bars.clear()


def run_repo(
    ws: Workspace, spec: PipelineSpec, repo: RepoSpec, reporter: Reporter = NULL_REPORTER
) -> RepoOutcome:
    """One repository through every stage up to packaging; errors become the outcome."""
    started = time.monotonic()
    unit_reporter = _RepoReporter(reporter, repo.source.removeprefix("pypi:").split("/")[-1])
    try:
        return _run_repo(ws, spec, repo, unit_reporter, started)
    finally:
        unit_reporter.finish()


def _run_repo(
    ws: Workspace, spec: PipelineSpec, repo: RepoSpec, reporter: Reporter, started: float
) -> RepoOutcome:
    name = gold_id = ""
    stable = attempts = candidates = before = 0
    try:
        request = GoldRequest(
            spec=repo.source, runs=spec.runs, min_tests=spec.min_tests, tests=repo.tests,
            keyword=repo.k, per_test_timeout=repo.per_test_timeout, layout=repo.layout,
            dockerfile=repo.dockerfile, python=repo.python,
        )
        gold = ws.gold(request, reporter).gold
        name, gold_id, stable = gold.name, gold.id, len(gold.stability.stable_passing)
        before = len(ws.list_tasks(gold.id))
        reporter.stage("run", f"gold ready ({stable} stable tests)")
        ws.probe(gold.id, reporter=reporter)
        report = ws.invert(gold.id, budget=spec.budget_of(repo), seed=spec.seed, reporter=reporter)
        attempts, candidates = len(report.attempts), len(report.candidates)
        ws.verify(gold.id, jobs=spec.verify_jobs, reporter=reporter)
        ws.package(gold.id)
        tasks = len(ws.list_tasks(gold.id))
    except Exception as err:  # one repository's failure, even a bug, never stops the others
        if isinstance(err, CligymError):
            message = str(err).splitlines()[0]
        else:
            log.exception("unit %s failed", repo.source)  # the traceback, with --debug
            first = (str(err).splitlines() or [""])[0]
            message = f"internal error {type(err).__name__}: {first} (rerun with --debug)"
        return RepoOutcome(
            repo.source, name, gold_id, stable, attempts, candidates, 0,
            round(time.monotonic() - started, 1), message,
        )
    reporter.stage("run", f"{tasks} tasks from {attempts} attempts")
    return RepoOutcome(
        repo.source, name, gold_id, stable, attempts, candidates, tasks,
        round(time.monotonic() - started, 1), new_tasks=tasks - before,
    )


def run_pipeline(
    ws: Workspace,
    spec: PipelineSpec,
    executor: Executor | None = None,
    reporter: Reporter = NULL_REPORTER,
) -> PipelineReport:
    """Every repository on the executor, then one export of all their tasks.

    The work directory and the export directory are checked first: a path that cannot be
    written fails the run at once, not every unit after its build.
    """
    started = time.monotonic()
    ws.settings.paths.ensure()
    out = export_dir(ws, spec)
    if spec.export_format != "none":
        ensure_dir(out.parent, "output directory", f"{OUT_HINT} (the pipeline's `out`)")
    ws.gc()  # containers and staging dirs of a dead earlier run (kill -9) go first
    executor = executor or LocalExecutor(spec.workers or default_workers())
    outcomes: list[RepoOutcome] = []
    total = len(spec.repos)
    reporter.progress("repos", 0, total)
    units = executor.run(lambda repo: run_repo(ws, spec, repo, reporter), spec.repos)
    try:
        for outcome in units:
            outcomes.append(outcome)
            reporter.progress("repos", len(outcomes), total, outcome.name or outcome.source)
            if outcome.error:
                reporter.stage("run", f"failed {outcome.source}: {outcome.error}")
    finally:
        close = getattr(units, "close", None)
        if close is not None:  # an interrupted run cancels queued units now, not at GC
            close()
    export = None
    golds = [o.gold_id for o in outcomes if o.gold_id and o.tasks and not o.error]
    if spec.export_format != "none" and golds:
        names = [t.name for g in golds for t in ws.list_tasks(g)]
        export = ws.export(
            out,
            spec.export_format,
            hints=spec.hints,
            gold_images=spec.gold_images,
            names=names,
            network=spec.network,
            reporter=reporter,
        )
    order = {r.source: i for i, r in enumerate(spec.repos)}
    outcomes.sort(key=lambda o: order.get(o.source, 0))
    return PipelineReport(tuple(outcomes), export, round(time.monotonic() - started, 1))


def export_dir(ws: Workspace, spec: PipelineSpec) -> Path:
    """Where the run's dataset goes: `out` as given if absolute, else under the work directory."""
    out = Path(spec.out)
    return out if out.is_absolute() else ws.settings.paths.root / out


@dataclass(frozen=True)
class AbandonedRun:
    """What `abandon_run` did; `catalog_lock` must stay referenced until the process exits."""

    containers_removed: int
    catalog_lock: sqlite3.Connection | None


def abandon_run(ws: Workspace) -> AbandonedRun:
    """Stop a run at once on Ctrl-C or SIGTERM, as a kill -9 would, but without orphans.

    Worker threads may be mid-unit; waiting for them could take many minutes. So the catalog is
    locked against them first (nothing they see from here on is recorded), their containers are
    removed, and a Ray cluster this run started is shut down. The caller then leaves without
    joining the threads (the CLI exits the process). Every unit is atomic in the catalog and
    keyed by content, so the same command resumes where this one stopped.
    """
    from cligym.runtime.docker import remove_all_live_containers

    lock = None
    with contextlib.suppress(sqlite3.Error):
        lock = ws.catalog.block_writers()
    removed = remove_all_live_containers()
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()  # a local cluster this run started must not outlive it
    return AbandonedRun(removed, lock)
