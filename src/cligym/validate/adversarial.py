"""`cligym validate --adversarial`: every reward hack, in place of the agent, through Harbor.

For each task and hack, a copy of the task directory whose solution is the hack runs under
Harbor's oracle agent, so the hack gets exactly an agent's powers (root, the whole agent phase)
and the verifier runs exactly as in training. A task holds when every hack scores 0.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cligym.grading.hacks import HACKS, Hack, render_hack_solution
from cligym.grading.run import explain
from cligym.harness.datasets import find_task_dirs, prepare_harness, select_task_dirs, task_meta
from cligym.harness.harbor import run_harbor, trial_prefix
from cligym.progress import NULL_REPORTER, Reporter
from cligym.runtime.protocol import Runtime
from cligym.validate.dataset import ValidateError, job_timeout_sec


@dataclass(frozen=True)
class HackOutcome:
    task_name: str
    hack: str
    reward: float | None  # None: the trial raised before grading (no reward was taken)
    why: str  # the verifier's reason, or the harness error

    @property
    def held(self) -> bool:
        return not (self.reward or 0) > 0


@dataclass(frozen=True)
class AdversarialReport:
    dataset: Path
    outcomes: tuple[HackOutcome, ...]
    duration_sec: float

    @property
    def broken(self) -> list[HackOutcome]:
        return [o for o in self.outcomes if not o.held]


def validate_adversarial(
    dataset: Path,
    *,
    runtime: Runtime,
    jobs_dir: Path,
    names: Sequence[str] = (),
    hacks: Sequence[Hack] = HACKS,
    limit: int | None = None,
    concurrency: int = 2,
    reporter: Reporter = NULL_REPORTER,
) -> AdversarialReport:
    """Run every hack on every selected task (hint variants aside: same verifier)."""
    started = time.monotonic()
    dataset = dataset.expanduser().resolve()
    task_dirs = select_task_dirs(
        [
            p for p in find_task_dirs(dataset, "harbor")
            if task_meta(p, "harbor").get("hint_level", "none") == "none"
        ],
        dataset, names, limit,
    )
    if not hacks:
        raise ValidateError("no reward hacks selected")
    prepare_harness(runtime, task_dirs, "harbor", reporter)
    jobs_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    copies: dict[str, tuple[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="adversarial-", dir=jobs_dir) as tmp:
        root = Path(tmp)
        for task_dir in task_dirs:
            meta = task_meta(task_dir, "harbor")
            where = (str(meta.get("project_dir", "/app")), str(meta.get("python_env", "/opt/venv")))
            for index, hack in enumerate(hacks):
                name = f"h{index:02d}-{task_dir.name}"
                dest = root / name
                shutil.copytree(task_dir, dest, symlinks=True)
                solve = dest / "solution" / "solve.sh"
                solve.write_text(render_hack_solution(hack, *where))
                solve.chmod(0o755)
                copies[name] = (task_dir.name, hack.name)
        reporter.stage(
            "validate", f"harbor: {len(hacks)} reward hacks on {len(task_dirs)} tasks"
        )
        try:
            runs = run_harbor(
                root, "oracle", task_names=sorted(copies), jobs_dir=jobs_dir,
                job_name=f"adversarial-{stamp}", concurrency=concurrency,
                timeout_sec=job_timeout_sec([root / n for n in copies], "harbor", concurrency),
            )
        finally:
            runtime.remove_compose_projects([trial_prefix(n) for n in copies])
    by_name = {run.task_name: run for run in runs}
    outcomes = []
    for name, (task_name, hack_name) in sorted(copies.items(), key=lambda kv: kv[1]):
        run = by_name.get(name)
        if run is None:
            outcomes.append(HackOutcome(task_name, hack_name, None, "no trial result"))
            continue
        outcomes.append(
            HackOutcome(task_name, hack_name, run.reward, run.error or _reason(run.trial_dir))
        )
    return AdversarialReport(dataset, tuple(outcomes), round(time.monotonic() - started, 1))


def _reason(trial_dir: str) -> str:
    """The verifier's own explanation of its reward (its first difference or failing test)."""
    path = Path(trial_dir) / "verifier" / "test-stdout.txt"
    return explain(path.read_text(errors="replace") if path.is_file() else "")
