"""Whole work directories: `demo` (the sample), `run` (a corpus) and `report`.

`demo` and `run` both call the library's pipeline (`cligym.pipeline`): this module parses their
options, renders the reports, and on Ctrl-C or SIGTERM leaves without waiting for worker threads.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from cligym.api import Workspace
from cligym.cli.common import RichReporter, out, workspace
from cligym.cli.dataset import render_export, render_validation
from cligym.errors import CligymError
from cligym.pipeline.demo import DemoReport, run_demo
from cligym.pipeline.executors import make_executor
from cligym.pipeline.run import AbandonedRun, PipelineReport, abandon_run, run_pipeline
from cligym.pipeline.spec import parse_executor, plan_pipeline

commands = typer.Typer()

_abandoned: AbandonedRun | None = None  # its catalog lock must live until the process is gone


def _abandon(stop: BaseException, ws: Workspace) -> NoReturn:
    """Leave at once: the library stopped the run (catalog locked, containers removed); worker
    threads may be mid-unit for many minutes, so the process exits without joining them, which
    only `os._exit` does (`sys.exit` would wait for the pool's threads)."""
    global _abandoned
    _abandoned = abandon_run(ws)
    code = stop.code if isinstance(stop, SystemExit) and isinstance(stop.code, int) else 130
    out.print(
        f"[red]interrupted[/red]: removed {_abandoned.containers_removed} container(s) of this "
        "run; run the same command again to resume"
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _until_interrupted[T](ws: Workspace, reporter: RichReporter, work: Callable[[], T]) -> T:
    try:
        return work()
    except (KeyboardInterrupt, SystemExit) as stop:
        reporter.close()
        _abandon(stop, ws)
    finally:
        reporter.close()


@commands.command()
def demo(
    budget: Annotated[int, typer.Option(help="Inversion attempts.")] = 24,
    seed: Annotated[int, typer.Option(help="Search seed.")] = 0,
    validate_tasks: Annotated[
        int, typer.Option("--validate", help="Tasks to check with Harbor's oracle and nop.")
    ] = 3,
) -> None:
    """The whole pipeline on the sample: gold to Harbor dataset, with an oracle/nop check."""
    ws = workspace()
    reporter = RichReporter()
    report = _until_interrupted(
        ws, reporter, lambda: run_demo(ws, budget, seed, validate_tasks, reporter=reporter)
    )
    _render_demo(ws, report)


def _render_demo(ws: Workspace, report: DemoReport) -> None:
    families = Counter(name for t in report.tasks for name in t.families)
    table = Table(title=f"{len(report.tasks)} verified tasks from {report.attempts} attempts")
    table.add_column("fault family")
    table.add_column("tasks", justify="right")
    for name, n in families.most_common():
        table.add_row(name, str(n))
    out.print(table)
    if report.validation is not None:
        render_validation(report.validation, as_json=False)
    render_export(report.export)
    out.print(
        f"run it: cd {report.export.out} && harbor run -p . -a oracle -n 2 -y   "
        f"(or `cligym validate {report.export.out}`); catalog: {ws.settings.paths.catalog}"
    )


def split_run_arguments(
    arguments: Sequence[str], repos: Sequence[str]
) -> tuple[Path | None, list[str]]:
    """`run`'s positionals and --repos as (pipeline file, sources).

    Click gives an option one value, so in `--repos A B` the B arrives as a positional: with
    --repos, every positional is one more source, except a `.toml` file (never a source), which
    is the pipeline whose settings apply. Without --repos the one positional is the pipeline.
    """
    if not repos:
        if len(arguments) > 1:
            raise CligymError(
                f"one pipeline file at most, got {len(arguments)}; "
                "sources go after --repos: cligym run --repos A B"
            )
        return (Path(arguments[0]) if arguments else None), []
    files = [a for a in arguments if a.endswith(".toml")]
    if len(files) > 1:
        raise CligymError(f"one pipeline file at most, got {len(files)}: {', '.join(files)}")
    sources = [*repos, *(a for a in arguments if not a.endswith(".toml"))]
    return (Path(files[0]) if files else None), sources


@commands.command()
def run(
    pipeline: Annotated[
        list[str] | None,
        typer.Argument(
            help="Pipeline TOML (\\[pipeline] settings, \\[\\[repo]] list); "
            "after --repos, more sources."
        ),
    ] = None,
    repos: Annotated[
        list[str] | None,
        typer.Option("--repos", help="Sources instead of a pipeline file: --repos A B ..."),
    ] = None,
    budget: Annotated[int | None, typer.Option(help="Inversion attempts per repo.")] = None,
    workers: Annotated[int | None, typer.Option(help="Repos at once \\[default: cores].")] = None,
    export_format: Annotated[
        str | None, typer.Option("--format", help="harbor | tb | none")
    ] = None,
    executor: Annotated[str, typer.Option(help="local (a pool on this machine) | ray")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray: cluster address (default: start a local one)")
    ] = None,
) -> None:
    """The whole pipeline (gold to export) for every repo; failures never stop the others."""
    path, sources = split_run_arguments(pipeline or [], repos or [])
    spec = plan_pipeline(
        path, sources, budget=budget, workers=workers, export_format=export_format
    )
    kind = parse_executor(executor)
    ws = workspace()
    chosen = make_executor(ws, spec, kind, address)
    reporter = RichReporter(keep={"repos", "export"})
    report = _until_interrupted(
        ws, reporter, lambda: run_pipeline(ws, spec, executor=chosen, reporter=reporter)
    )
    _render_run(report)
    if any(r.error for r in report.repos):
        raise typer.Exit(1)


def _render_run(report: PipelineReport) -> None:
    table = Table(title=f"{len(report.repos)} repos, {report.tasks} verified tasks")
    for col in ("repo", "stable tests", "attempts", "candidates", "tasks", "time", "error"):
        table.add_column(col)
    for r in report.repos:
        table.add_row(
            r.name or r.source, str(r.stable_tests), str(r.attempts), str(r.candidates),
            str(r.tasks), f"{r.duration_sec:.0f} s", r.error[:80],
        )
    out.print(table)
    built = sum(1 for r in report.repos if r.gold_id)
    resumed = report.new_tasks < report.tasks
    made = f" ({report.new_tasks} new)" if resumed else ""
    rate = f"{report.tasks_per_hour:.0f} {'new ' if resumed else ''}tasks/h"
    out.print(
        f"{built}/{len(report.repos)} gold envs, {report.tasks} tasks{made} in "
        f"{report.duration_sec / 60:.1f} min ({rate})"
    )
    if report.export is not None:
        out.print(f"dataset: {report.export.out} ({len(report.export.written)} task dirs)")


@commands.command()
def report(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
) -> None:
    """Write one self-contained HTML page: funnel, yields, histograms, tasks."""
    path = workspace().report(out_file)
    out.print(f"report -> {path}")
