"""From exported tasks to training data: `rollout`, `filter`, `sft`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table

from cligym.cli.common import RichReporter, out, workspace
from cligym.cli.dataset import hint_levels
from cligym.errors import CligymError
from cligym.rollout.filters import FilterConfig
from cligym.rollout.run import RolloutSpec
from cligym.rollout.sft import SftFormat

commands = typer.Typer()


@commands.command()
def rollout(
    dataset: Annotated[Path, typer.Argument(help="Exported Harbor dataset (or one task).")],
    model: Annotated[str, typer.Option(help="Model name the endpoint serves.")],
    agent: Annotated[str, typer.Option(help="Harbor agent: terminus-2, openhands, ...")] = (
        "terminus-2"
    ),
    base_url: Annotated[
        str, typer.Option(help="OpenAI-compatible endpoint, e.g. http://host:8000/v1")
    ] = "",
    api_key: Annotated[str, typer.Option(help="API key \\[default: $OPENAI_API_KEY]")] = "",
    hints: Annotated[str, typer.Option(help="Task variants to run: none,category,specific")] = (
        "none"
    ),
    n: Annotated[int, typer.Option("-n", help="Rollouts per task.")] = 1,
    task: Annotated[list[str] | None, typer.Option(help="Only these task names.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many tasks.")] = None,
    jobs: Annotated[int, typer.Option(help="Trials at once.")] = 2,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_turns: Annotated[int | None, typer.Option(help="Agent turns per rollout.")] = None,
    ak: Annotated[
        list[str] | None, typer.Option("--ak", help="Extra agent kwarg key=value (Harbor --ak).")
    ] = None,
) -> None:
    """Run a real Harbor agent on exported tasks; trajectories and rewards go into the catalog."""
    spec = RolloutSpec(
        model=model,
        agent=agent,
        base_url=base_url,
        api_key=api_key,
        hints=tuple(hint_levels(hints)),
        attempts=n,
        temperature=temperature,
        max_turns=max_turns,
        agent_kwargs=tuple(ak or ()),
    )
    reporter = RichReporter()
    try:
        report = workspace().rollout(
            dataset, spec, names=task or (), limit=limit, concurrency=jobs, reporter=reporter
        )
    finally:
        reporter.close()
    table = Table(title=f"{spec.agent} rollouts")
    for col in ("task", "hint", "reward", "steps", "tokens"):
        table.add_column(col)
    for t in report.trajectories:
        reward = f"{t.reward:.1f}" if t.reward is not None else f"error {t.error[:40]}"
        tokens = str(t.prompt_tokens + t.completion_tokens)
        table.add_row(t.task_name, t.hint_level, reward, str(len(t.steps)), tokens)
    out.print(table)
    out.print(
        f"{report.solved}/{len(report.trajectories)} solved ({report.duration_sec:.0f} s); "
        f"trials in {report.job_dir}; next: `cligym filter`"
    )


@commands.command("filter")
def filter_trajectories(
    min_steps: Annotated[int, typer.Option(help="Fewest agent steps of a kept trajectory.")] = 20,
) -> None:
    """Keep successful, long-enough trajectories without shortcuts or loops; report why."""
    summary = workspace().filter(FilterConfig(min_steps=min_steps))
    counts = summary.step_counts
    if not counts:
        raise CligymError("no trajectories in the catalog: run `cligym rollout` first")
    quartiles = [counts[min(len(counts) - 1, int(q * len(counts)))] for q in (0, 0.25, 0.5, 0.75)]
    out.print(f"kept {summary.kept} of {summary.total} trajectories")
    for reason, n in sorted(summary.drop_reasons.items(), key=lambda kv: -kv[1]):
        out.print(f"  dropped: {reason} x{n}")
    out.print(
        f"loop rate among failures: {summary.loop_rate:.0%} "
        f"({summary.loops_among_failures}/{summary.failures})"
    )
    out.print(f"agent steps: min {quartiles[0]}, p25 {quartiles[1]}, median {quartiles[2]}, "
              f"p75 {quartiles[3]}, max {counts[-1]}")


@commands.command()
def sft(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="openai | sharegpt")] = "openai",
    include_all: Annotated[
        bool, typer.Option("--all", help="Export every trajectory, not only kept ones.")
    ] = False,
) -> None:
    """Export kept trajectories as chat-format JSONL + Parquet with a dataset card."""
    if fmt not in ("openai", "sharegpt"):
        raise CligymError(f"--format must be openai or sharegpt; got {fmt!r}")
    report = workspace().sft(out_dir, cast(SftFormat, fmt), include_all)
    for tid, why in report.skipped:
        out.print(f"[yellow]skipped[/yellow] {tid}: {why}")
    out.print(f"{report.rows} conversations -> {report.out}/train.jsonl (+ data/train.parquet)")

