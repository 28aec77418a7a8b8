"""`cligym rollout`: real Harbor agents on exported tasks; trajectories into the catalog.

The agent loop runs in Harbor (terminus-2 drives tmux in the task container; installed agents
such as openhands install themselves); the model is any OpenAI-compatible endpoint, reached by
LiteLLM as `openai/<model>` with `api_base`. Hints only raise data yield: the hint level of the
task variant an agent saw is recorded with its trajectory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cligym.catalog import Catalog
from cligym.errors import CligymError
from cligym.harness.datasets import find_task_dirs, prepare_harness, task_meta
from cligym.harness.harbor import run_harbor, trial_prefix
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import HINT_LEVELS, HintLevel, Trajectory
from cligym.rollout.ingest import ingest_trial
from cligym.runtime.protocol import Runtime


@dataclass(frozen=True)
class RolloutSpec:
    """Which agent, which model where, on which task variants, how many times."""

    model: str
    agent: str = "terminus-2"
    base_url: str = ""
    api_key: str = ""
    hints: tuple[HintLevel, ...] = ("none",)
    attempts: int = 1
    temperature: float | None = None
    max_turns: int | None = None
    agent_kwargs: tuple[str, ...] = ()

    def litellm_model(self) -> str:
        """LiteLLM routes `openai/<name>` to any OpenAI-compatible `api_base`."""
        if self.base_url and "/" not in self.model:
            return f"openai/{self.model}"
        return self.model

    def harbor_args(self) -> list[str]:
        args = ["-m", self.litellm_model(), "-k", str(self.attempts)]
        kwargs = ['trajectory_config={"raw_content": true}']
        if self.base_url:
            kwargs.append(f"api_base={self.base_url}")
        if self.temperature is not None:
            kwargs.append(f"temperature={self.temperature}")
        if self.max_turns is not None:
            kwargs.append(f"max_turns={self.max_turns}")
        kwargs += list(self.agent_kwargs)
        for kwarg in kwargs:
            args += ["--ak", kwarg]
        return args


@dataclass(frozen=True)
class RolloutReport:
    job_dir: Path
    trajectories: tuple[Trajectory, ...]
    duration_sec: float

    @property
    def solved(self) -> int:
        return sum(t.reward == 1.0 for t in self.trajectories)


def run_rollouts(
    dataset: Path,
    spec: RolloutSpec,
    *,
    runtime: Runtime,
    catalog: Catalog,
    jobs_dir: Path,
    names: Sequence[str] = (),
    limit: int | None = None,
    concurrency: int = 2,
    reporter: Reporter = NULL_REPORTER,
) -> RolloutReport:
    """Run the agent on the chosen task variants; every trial becomes a stored Trajectory."""
    if spec.attempts < 1:
        raise CligymError("-n must be at least 1")
    bad = [h for h in spec.hints if h not in HINT_LEVELS]
    if bad:
        raise CligymError(f"unknown hint level {bad[0]!r}: use {', '.join(HINT_LEVELS)}")
    started = time.monotonic()
    dataset = dataset.expanduser().resolve()
    task_dirs = find_task_dirs(dataset, "harbor")
    metas = {p.name: task_meta(p, "harbor") for p in task_dirs}
    chosen = [
        p
        for p in task_dirs
        if str(metas[p.name].get("hint_level", "none")) in spec.hints
        and (not names or p.name in names or _base_name(p.name) in names)
    ]
    if limit is not None:
        chosen = chosen[:limit]
    if not chosen:
        raise CligymError(f"no task in {dataset} matches the names and --hints given")
    root = chosen[0].parent
    prepare_harness(runtime, chosen, "harbor", reporter)
    job = f"rollout-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    env = {"OPENAI_API_KEY": spec.api_key or os.environ.get("OPENAI_API_KEY") or "sk-no-key"}
    reporter.stage("rollout", f"{spec.agent} ({spec.model}) on {len(chosen)} tasks")
    try:
        run_harbor(
            root,
            spec.agent,
            task_names=[p.name for p in chosen],
            jobs_dir=jobs_dir,
            job_name=job,
            concurrency=concurrency,
            timeout_sec=3600 + 1800 * len(chosen) * spec.attempts,
            extra_args=spec.harbor_args(),
            env=env,
        )
    finally:
        runtime.remove_compose_projects([trial_prefix(p.name) for p in chosen])
    trajectories = []
    for trial in sorted(p for p in (jobs_dir / job).iterdir() if p.is_dir()):
        trajectory = ingest_trial(trial, spec.model, "none")
        if trajectory is not None:
            meta = metas.get(trajectory.task_name, {})
            trajectory = trajectory.model_copy(
                update={
                    "hint_level": str(meta.get("hint_level", "none")),
                    "task_id": str(meta.get("cligym_task_id", "")),
                }
            )
            catalog.put_trajectory(trajectory, str(meta.get("gold_id", "")))
            trajectories.append(trajectory)
    return RolloutReport(jobs_dir / job, tuple(trajectories), round(time.monotonic() - started, 1))


def _base_name(name: str) -> str:
    for level in HINT_LEVELS:
        if name.endswith(f"-hint-{level}"):
            return name[: -len(f"-hint-{level}")]
    return name
