"""From verified tasks to datasets: `package`, `export`, `validate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table
from rich.text import Text

from cligym.cli.common import RichReporter, out, workspace
from cligym.errors import CligymError
from cligym.harness.datasets import Harness
from cligym.llm.client import LlmSpec
from cligym.package.export.layouts import NetworkPolicy
from cligym.package.export.writer import ExportFormat, ExportReport, GoldImages
from cligym.records import HINT_LEVELS, HintLevel
from cligym.validate.dataset import ValidationReport

commands = typer.Typer()


@commands.command()
def package(
    key: Annotated[str | None, typer.Argument(help="Only tasks of this gold env.")] = None,
    seed: Annotated[int, typer.Option(help="Phrasing seed.")] = 0,
    force: Annotated[bool, typer.Option(help="Rewrite stored issue texts.")] = False,
    show: Annotated[str | None, typer.Option(help="Print the issue of this task name.")] = None,
    issue_writer: Annotated[str, typer.Option(help="template | llm")] = "template",
    model: Annotated[str, typer.Option(help="LLM writer: model name.")] = "",
    base_url: Annotated[str, typer.Option(help="LLM writer: OpenAI-compatible endpoint.")] = "",
    api_key: Annotated[str, typer.Option(help="LLM writer: key \\[default: $OPENAI_API_KEY]")] = "",
) -> None:
    """Write each task's issue text (symptoms only) and hints; leaky texts are rejected."""
    if issue_writer not in ("template", "llm"):
        raise CligymError(f"--issue-writer must be template or llm; got {issue_writer!r}")
    llm = None
    if issue_writer == "llm":
        if not model or not base_url:
            raise CligymError("--issue-writer llm needs --model and --base-url")
        llm = LlmSpec(model, base_url, api_key, temperature=0.7)
    outcomes = workspace().package(key, seed=seed, force=force, llm=llm)
    ok = [o for o in outcomes if o.issue is not None]
    for o in outcomes:
        if o.issue is None:
            out.print(f"[yellow]skipped[/yellow] {o.task.name}: {o.reason}")
    if show:
        match = next((o for o in ok if o.task.name == show), None)
        if match is None or match.issue is None:
            raise CligymError(f"no packaged task named {show}: see `cligym list tasks`")
        out.print(match.issue.instruction("none"), markup=False, highlight=False, emoji=False)
        for level, hint in sorted(match.issue.hints.items()):
            out.print(f"hint ({level}): {hint}", markup=False, highlight=False, emoji=False)
    tokens = sum(o.tokens for o in outcomes)
    spent = f" ({tokens} LLM tokens)" if tokens else ""
    out.print(
        f"{len(ok)} issue texts ready, {len(outcomes) - len(ok)} rejected by the checker{spent}"
    )


def hint_levels(text: str) -> list[HintLevel]:
    levels = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in levels if p not in HINT_LEVELS]
    if bad or not levels:
        raise CligymError(f"--hints takes a comma list of {', '.join(HINT_LEVELS)}; got {text!r}")
    return [cast(HintLevel, p) for p in dict.fromkeys(levels)]


@commands.command()
def export(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Dataset directory (or file).")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="harbor | tb | jsonl | parquet | hf")
    ] = "harbor",
    key: Annotated[str | None, typer.Option("--gold", help="Only tasks of this gold env.")] = None,
    hints: Annotated[
        str, typer.Option(help="Hint levels to export, e.g. none,specific (one dir per level).")
    ] = "none",
    gold_images: Annotated[
        str,
        typer.Option(
            help="save: `docker save` the gold images into one archive; none: skip; "
            "auto: save unless --registry is given."
        ),
    ] = "auto",
    task: Annotated[list[str] | None, typer.Option(help="Only these task names.")] = None,
    limit: Annotated[int | None, typer.Option(help="Export at most this many tasks.")] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            help="HOST[:PORT]/NAMESPACE the tasks were pushed to (`cligym push`): task.toml "
            "names each task's prebuilt image there, pinned by digest."
        ),
    ] = None,
    network: Annotated[
        str,
        typer.Option(
            help="mirror: the task reaches only a package mirror of its gold env (repairable "
            "anywhere); offline: nothing (tasks whose repair downloads are skipped); "
            "internet: whatever the harness's network reaches. Default: mirror (internet "
            "for tb, whose harness deletes the mirror's image after each trial)."
        ),
    ] = "",
) -> None:
    """Export verified tasks: Harbor or Terminal-Bench task dirs, a JSONL/Parquet manifest, or
    a Hugging Face dataset (hf: Parquet rows holding each Harbor task dir, and a card)."""
    if fmt not in ("harbor", "tb", "jsonl", "parquet", "hf"):
        raise CligymError(f"--format must be harbor, tb, jsonl, parquet or hf; got {fmt!r}")
    if gold_images not in ("save", "none", "auto"):
        raise CligymError(f"--gold-images must be auto, save or none; got {gold_images!r}")
    if network not in ("", "mirror", "offline", "internet"):
        raise CligymError(f"--network must be mirror, offline or internet; got {network!r}")
    if gold_images == "auto":
        gold_images = "none" if registry else "save"
    reporter = RichReporter()
    try:
        report = workspace().export(
            out_dir,
            cast(ExportFormat, fmt),
            key=key,
            hints=hint_levels(hints),
            gold_images=cast(GoldImages, gold_images),
            names=task or (),
            limit=limit,
            registry=registry,
            network=cast(NetworkPolicy, network) if network else None,
            reporter=reporter,
        )
    finally:
        reporter.close()
    render_export(report)


@commands.command()
def push(
    registry: Annotated[
        str,
        typer.Option(
            help="HOST[:PORT]/NAMESPACE, e.g. localhost:5000/cligym (registries on localhost "
            "may speak plain HTTP; others need TLS or the daemon's insecure-registries)."
        ),
    ],
    key: Annotated[str | None, typer.Option("--gold", help="Only tasks of this gold env.")] = None,
    task: Annotated[list[str] | None, typer.Option(help="Only these task names.")] = None,
    limit: Annotated[int | None, typer.Option(help="Push at most this many tasks.")] = None,
    mirrors: Annotated[
        bool, typer.Option(help="Also build and push each gold env's package mirror image.")
    ] = True,
) -> None:
    """Push gold and task images to a registry (a task adds only its thin layer); then
    `cligym export --registry` writes tasks that nodes pull instead of build."""
    reporter = RichReporter()
    try:
        report = workspace().push(
            registry, key=key, names=task or (), limit=limit, mirrors=mirrors, reporter=reporter
        )
    finally:
        reporter.close()
    for name, reason in report.skipped:
        out.print(f"[yellow]skipped[/yellow] {name}: {reason}")
    tasks, golds = report.of("task"), report.of("gold")
    uploaded = sum(p.layers_uploaded for p in tasks)
    out.print(
        f"{len(golds)} gold and {len(tasks)} task images -> {report.registry} "
        f"(task images uploaded {uploaded} layer(s) in all; {report.duration_sec:.0f} s)"
    )
    if not tasks:
        raise typer.Exit(1)


def render_export(report: ExportReport) -> None:
    for name, reason in report.skipped:
        out.print(f"[yellow]skipped[/yellow] {name}: {reason}")
    images = report.images_bytes
    out.print(
        f"{len(report.written)} tasks -> {report.out} ({report.format}, "
        f"{report.bytes_total / 1e6:.1f} MB incl. {images / 1e6:.1f} MB of gold images, "
        f"{report.duration_sec:.0f} s)"
    )


@commands.command()
def validate(
    dataset: Annotated[Path, typer.Argument(help="Exported dataset (or one task) directory.")],
    harness: Annotated[str, typer.Option(help="harbor | tb")] = "harbor",
    task: Annotated[list[str] | None, typer.Option(help="Only these task names.")] = None,
    limit: Annotated[int | None, typer.Option(help="Validate at most this many tasks.")] = None,
    jobs: Annotated[int, typer.Option(help="Trials the harness runs at once.")] = 2,
    load_only: Annotated[
        bool, typer.Option(help="Only load tasks with the harness's own loader (tb).")
    ] = False,
    drop: Annotated[bool, typer.Option(help="Delete invalid task dirs from the dataset.")] = False,
    adversarial: Annotated[
        bool,
        typer.Option(
            help="Run the reward-hack suite in place of the agent (Harbor): every hack must "
            "score 0."
        ),
    ] = False,
    hack: Annotated[
        list[str] | None, typer.Option(help="Only these reward hacks (with --adversarial).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Run the harness's oracle and nop agents: valid tasks score 1.0 and 0.0."""
    if harness not in ("harbor", "tb"):
        raise CligymError(f"--harness must be harbor or tb; got {harness!r}")
    if adversarial:
        if harness != "harbor":
            raise CligymError("--adversarial runs in Harbor only: drop --harness tb")
        _validate_adversarial(dataset, task or [], hack or [], limit, jobs, as_json)
        return
    if hack:
        raise CligymError("--hack selects reward hacks: use it with --adversarial")
    reporter = RichReporter()
    try:
        report = workspace().validate(
            dataset,
            cast(Harness, harness),
            names=task or (),
            limit=limit,
            concurrency=jobs,
            load_only=load_only,
            drop=drop,
            reporter=reporter,
        )
    finally:
        reporter.close()
    render_validation(report, as_json)
    if report.invalid or report.load_problems:
        raise typer.Exit(1)


def _validate_adversarial(
    dataset: Path, tasks: list[str], hacks: list[str], limit: int | None, jobs: int,
    as_json: bool,
) -> None:
    reporter = RichReporter()
    try:
        report = workspace().validate_adversarial(
            dataset, names=tasks, hacks=hacks, limit=limit, concurrency=jobs, reporter=reporter
        )
    finally:
        reporter.close()
    if as_json:
        rows = [
            {"task": o.task_name, "hack": o.hack, "reward": o.reward, "held": o.held,
             "why": o.why}
            for o in report.outcomes
        ]
        out.print_json(json.dumps(rows))
    else:
        table = Table(title="harbor: reward hacks in place of the agent")
        for column in ("hack", "task", "reward", "verifier says"):
            table.add_column(column)
        for o in report.outcomes:
            reward = "error" if o.reward is None else f"{o.reward:.1f}"
            table.add_row(
                o.hack, o.task_name, reward if o.held else f"[red]{reward}[/red]",
                Text(o.why[:90]),
            )
        out.print(table)
        held = len(report.outcomes) - len(report.broken)
        out.print(f"{held}/{len(report.outcomes)} hacks scored 0 ({report.duration_sec:.0f} s)")
    if report.broken:
        raise typer.Exit(1)


def render_validation(report: ValidationReport, as_json: bool) -> None:
    if as_json:
        rows = [
            {
                "task": r.task_name,
                "oracle": r.oracle.reward,
                "nop": r.nop.reward,
                "valid": r.valid,
                "errors": [e for e in (r.oracle.error, r.nop.error) if e],
            }
            for r in report.results
        ]
        problems = [{"task": n, "problem": p} for n, p in report.load_problems]
        out.print_json(json.dumps({"results": rows, "load_problems": problems}))
        return
    for name, problem in report.load_problems:
        out.print(f"[red]does not load[/red] {name}: {problem}")
    if report.results:
        table = Table(title=f"{report.harness}: oracle and nop")
        for col in ("task", "oracle", "nop", "valid"):
            table.add_column(col)
        for r in report.results:
            table.add_row(
                r.task_name,
                _reward(r.oracle.reward, r.oracle.error),
                _reward(r.nop.reward, r.nop.error),
                "[green]yes[/green]" if r.valid else "[red]no[/red]",
            )
        out.print(table)
    if report.harness == "tb":
        out.print(f"{report.loaded} tasks load in Terminal-Bench's own task loader")
    if not report.results:
        return
    valid = len(report.results) - len(report.invalid)
    loaded = f"; {len(report.load_problems)} do not load" if report.load_problems else ""
    dropped = f"; dropped {len(report.dropped)}" if report.dropped else ""
    out.print(f"{valid}/{len(report.results)} valid{loaded}{dropped} ({report.duration_sec:.0f} s)")


def _reward(value: float | None, error: str) -> str:
    return f"{value:.1f}" if value is not None else f"[red]error[/red] {error[:60]}"

