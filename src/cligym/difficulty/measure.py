"""Run the baseline ladder on a verified task, under the task's own verifier.

Rungs run lowest first, each in a fresh container of the task's image, exactly as a harness
runs an agent and then the verifier; the first rung that scores 1 ends the climb (every rung
includes the ones below it). A task keeps its results in the catalog, so re-running resumes.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.difficulty.ladder import LADDER, Rung
from cligym.errors import CligymError
from cligym.grading.kit import collect_grade_kit
from cligym.grading.run import run_verifier
from cligym.grading.verifier import (
    EXPECTED,
    render_expected_lists,
    render_tests_dir,
    verifier_timeout_sec,
)
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import DEFAULT_LAYOUT, BaselineRun, Layout, Task
from cligym.runtime.protocol import Runtime
from cligym.testbed.layout import relocate

AGENT_TIMEOUT_SEC = 900  # a rung reinstalls packages: minutes, never an hour


def climb(
    runtime: Runtime,
    task: Task,
    tests: dict[str, bytes],
    *,
    timeout_sec: int,
    rungs: Sequence[Rung] = LADDER,
    done: Iterable[BaselineRun] = (),
    network: bool = True,
    layout: Layout = DEFAULT_LAYOUT,
) -> list[BaselineRun]:
    """Results of the rungs run (lowest first) until one scores 1; `done` ones are reused.
    A rung is written for cligym's own layout and aimed at the task's (its digest is the
    script's as written)."""
    known = {(r.rung, r.script_digest): r for r in done}
    out: list[BaselineRun] = []
    for rung in sorted(rungs, key=lambda r: r.level):
        run = known.get((rung.name, rung.digest))
        if run is None:
            started = time.monotonic()
            verdict = run_verifier(
                runtime,
                task.image_tag,
                tests,
                agent_steps=(relocate(rung.script, layout.app_dir, layout.env_dir),),
                timeout_sec=max(timeout_sec, AGENT_TIMEOUT_SEC),
                network=network,
                stage="baseline",
            )
            run = BaselineRun(
                task_id=task.id,
                rung=rung.name,
                level=rung.level,
                script_digest=rung.digest,
                reward=verdict.reward,
                reason=verdict.reason,
                timed_out=verdict.timed_out,
                duration_sec=round(time.monotonic() - started, 1),
                created_at=datetime.now(UTC),
            )
        out.append(run)
        if run.reward == 1:
            break
    return out


def by_task(
    runs: Iterable[BaselineRun], rungs: Sequence[Rung] = LADDER
) -> dict[str, list[BaselineRun]]:
    """Stored rung results grouped per task id, lowest rung first; only results of the rungs'
    current scripts count (a rung whose script changed is measured again)."""
    current = {(r.name, r.digest) for r in rungs}
    out: dict[str, list[BaselineRun]] = {}
    for run in sorted(runs, key=lambda r: r.level):
        if (run.rung, run.script_digest) in current:
            out.setdefault(run.task_id, []).append(run)
    return out


def solved_by(runs: Iterable[BaselineRun]) -> BaselineRun | None:
    """The lowest rung that scored 1, if any."""
    solved = [r for r in runs if r.reward == 1]
    return min(solved, key=lambda r: r.level) if solved else None


def measured(runs: Sequence[BaselineRun], rungs: Sequence[Rung] = LADDER) -> bool:
    """Whether the climb is complete: a rung solved it, or every rung was tried."""
    return solved_by(runs) is not None or {r.rung for r in runs} >= {r.name for r in rungs}


def ladder_label(runs: Sequence[BaselineRun], rungs: Sequence[Rung] = LADDER) -> str:
    """`tidy` (solved by that rung), `none` (no rung solves it) or `-` (not measured)."""
    if not measured(runs, rungs):
        return "-"
    best = solved_by(runs)
    return best.rung if best else "none"


def repair_steps(task: Task) -> int:
    """Ordered commands of the verified specific solution."""
    return len(task.solution)


def names_culprit(task: Task) -> bool:
    """Whether the error output the agent sees names what was broken (a module, package,
    library, file or variable): a symptom that points at its cause."""
    text = "\n".join(task.errors.values()).lower()
    for fault in task.faults:
        stem = fault.resource.name.rstrip("/").rsplit("/", 1)[-1].lower()
        for candidate in {stem, stem.split(".so")[0], stem.split(".")[0]}:
            if len(candidate) >= 3 and candidate in text:
                return True
    return False


def measure_tasks(
    runtime: Runtime,
    catalog: Catalog,
    settings: Settings,
    tasks: Sequence[Task],
    *,
    jobs: int = 1,
    rungs: Sequence[Rung] = LADDER,
    reporter: Reporter = NULL_REPORTER,
) -> dict[str, list[BaselineRun]]:
    """Climb the ladder on each task (`jobs` at a time); task id -> its rung results."""
    stored = by_task(catalog.list_baselines(), rungs)
    golds = {t.gold_id: catalog.get_gold(t.gold_id) for t in tasks}
    kits: dict[str, dict[str, bytes]] = {}
    lock = threading.Lock()
    done = [0]

    def tests_for(task: Task) -> dict[str, bytes]:
        gold = golds[task.gold_id]
        if gold is None:
            raise CligymError(f"task {task.id}: its gold env {task.gold_id} is not in the catalog")
        with lock:
            if gold.id not in kits:
                kits[gold.id] = render_tests_dir(
                    collect_grade_kit(runtime, gold, settings.paths.gold_artifacts(gold.id)),
                    "baseline", (), (), verifier_timeout_sec(gold),
                )
        files = dict(kits[gold.id])
        files[EXPECTED] = render_expected_lists(task.fail_to_pass, task.pass_to_pass).encode()
        return files

    def ensure_image(task: Task) -> None:
        """The task's image, rebuilt from its Dockerfile if it was removed (`cligym gc`)."""
        if runtime.image_exists(task.image_tag):
            return
        context = settings.paths.staging_dir / f"{runtime.run_id}-baseline-{task.id}"
        context.mkdir(parents=True, exist_ok=True)
        try:
            (context / "Dockerfile").write_text(task.dockerfile)
            runtime.build(context, task.image_tag, kind="task",
                          timeout_sec=settings.build_timeout_sec)
        finally:
            shutil.rmtree(context, ignore_errors=True)

    def one(task: Task) -> tuple[str, list[BaselineRun]]:
        have = stored.get(task.id, [])
        if measured(have, rungs):
            runs = have
        else:
            gold = golds[task.gold_id]
            ensure_image(task)
            runs = climb(
                runtime, task, tests_for(task),
                timeout_sec=verifier_timeout_sec(gold) if gold else AGENT_TIMEOUT_SEC,
                rungs=rungs, done=have, layout=gold.layout if gold else DEFAULT_LAYOUT,
            )
            for run in runs:
                if run not in have:
                    catalog.put_baseline(run, task.gold_id)
        with lock:
            done[0] += 1
            label = f"{task.id[:8]} {ladder_label(runs, rungs)}"
            reporter.progress("baseline", done[0], len(tasks), label)
        return task.id, runs

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for task_id, runs in pool.map(one, tasks):
            stored[task_id] = runs
    return {t.id: stored.get(t.id, []) for t in tasks}
