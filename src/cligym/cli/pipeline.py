"""CLI commands over whole work directories: run (the pipeline over a corpus) and report."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from cligym.clitools import RichReporter, out, workspace
from cligym.errors import CligymError

if TYPE_CHECKING:
    from cligym.api import Workspace


_write_lock: sqlite3.Connection | None = None


def _abandon(stop: BaseException, ws: Workspace) -> NoReturn:
    """Stop a run at once on Ctrl-C or SIGTERM, as a kill -9 would, but without orphans.

    Worker threads may be mid-unit; waiting for them could take many minutes. So the catalog is
    locked against them first (nothing they see from here on is recorded), their containers are
    removed, and the process exits without joining them. Every unit is atomic in the catalog and
    keyed by content, so the same command resumes where this one stopped.
    """
    from cligym.runtime.docker import remove_all_live_containers

    global _write_lock
    with contextlib.suppress(sqlite3.Error):
        _write_lock = ws.catalog.block_writers()  # referenced, so held until the exit
    removed = remove_all_live_containers()
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()  # a local cluster this run started must not outlive it
    code = stop.code if isinstance(stop, SystemExit) and isinstance(stop.code, int) else 130
    out.print(
        f"[red]interrupted[/red]: removed {removed} container(s) of this run; "
        "run the same command again to resume"
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def report(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
) -> None:
    """Write one self-contained HTML page: funnel, yields, histograms, tasks."""
    path = workspace().report(out_file)
    out.print(f"report -> {path}")


def run(
    pipeline: Annotated[
        Path | None,
        typer.Argument(help="Pipeline TOML (\\[pipeline] settings, \\[\\[repo]] list)."),
    ] = None,
    repos: Annotated[
        list[str] | None, typer.Option("--repos", help="Sources instead of a pipeline file.")
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
    from cligym.pipeline.run import run_pipeline
    from cligym.pipeline.spec import load_pipeline, validate_pipeline

    if pipeline is None and not repos:
        raise CligymError("give a pipeline TOML or --repos SOURCE ...")
    base = load_pipeline(pipeline).model_dump() if pipeline else {}
    if repos:
        base["repos"] = [{"source": s} for s in repos]
    overrides: dict[str, object] = {}
    if budget is not None:
        overrides["budget"] = budget
    if workers is not None:
        overrides["workers"] = workers
    if export_format is not None:
        if export_format not in ("harbor", "tb", "none"):
            raise CligymError(f"--format must be harbor, tb or none; got {export_format!r}")
        overrides["export_format"] = export_format
    spec = validate_pipeline({**base, **overrides}, "options")
    if executor not in ("local", "ray"):
        raise CligymError(f"--executor must be local or ray; got {executor!r}")
    ws = workspace()
    chosen = None
    if executor == "ray":
        from cligym.pipeline.ray_exec import RayExecutor

        local = [r.source for r in spec.repos if Path(r.source.split("@")[0]).exists()]
        if address and local:
            raise CligymError(
                f"{local[0]} is a local path, which workers on other nodes cannot read: "
                "use a git URL or pypi: source"
            )
        chosen = RayExecutor(ws, spec, address=address, num_cpus=spec.workers or None)
    reporter = RichReporter(keep={"repos", "export"})
    try:
        report = run_pipeline(ws, spec, executor=chosen, reporter=reporter)
    except (KeyboardInterrupt, SystemExit) as stop:
        reporter.close()
        _abandon(stop, ws)
    finally:
        reporter.close()
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
    if any(r.error for r in report.repos):
        raise typer.Exit(1)
