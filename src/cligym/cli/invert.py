"""Breaking gold envs and keeping what verifies: `faults`, `invert`, `verify`, `baseline`,
`list tasks`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cligym.cli.common import RichReporter, out, workspace
from cligym.difficulty.ladder import LADDER
from cligym.difficulty.measure import ladder_label, names_culprit, repair_steps
from cligym.difficulty.summary import rung_counts
from cligym.errors import CligymError
from cligym.faults.registry import families
from cligym.llm.client import LlmSpec

commands = typer.Typer()
list_commands = typer.Typer()


@commands.command()
def faults() -> None:
    """List the fault catalog: families, categories, descriptions."""
    table = Table("family", "category", "description")
    for fam in families():
        table.add_row(fam.name, fam.category.value, fam.description)
    out.print(table)


@commands.command()
def invert(
    key: Annotated[str, typer.Argument(help="Gold id (or prefix), name or source.")],
    budget: Annotated[int, typer.Option(help="Attempts (LLM mode: agent sessions).")] = 60,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same attempts.")] = 0,
    max_faults: Annotated[int, typer.Option(help="Faults per composed candidate (1-3).")] = 3,
    agent: Annotated[str, typer.Option(help="procedural (no LLM) | llm")] = "procedural",
    model: Annotated[str, typer.Option(help="LLM mode: model name the server serves.")] = "",
    base_url: Annotated[
        str, typer.Option(help="LLM mode: OpenAI-compatible endpoint, e.g. http://host:8000/v1")
    ] = "",
    api_key: Annotated[
        str, typer.Option(help="LLM mode: API key \\[default: $OPENAI_API_KEY]")
    ] = "",
    max_steps: Annotated[int, typer.Option(help="LLM mode: tool calls per session.")] = 30,
    max_tokens: Annotated[int, typer.Option(help="LLM mode: tokens per session.")] = 200_000,
    temperature: Annotated[float, typer.Option(help="LLM mode: sampling temperature.")] = 0.7,
) -> None:
    """Break a gold env in many ways: candidates. Procedural (impact-guided, no LLM) by
    default; `--agent llm` runs a tool-calling agent over an OpenAI-compatible endpoint."""
    reporter = RichReporter()
    try:
        if agent == "llm":
            spec = LlmSpec(model, base_url, api_key, temperature=temperature)
            report = workspace().invert_llm(
                key, spec, budget, seed, max_steps, max_tokens, reporter=reporter
            )
        elif agent == "procedural":
            report = workspace().invert(
                key, budget=budget, seed=seed, max_faults=max_faults, reporter=reporter
            )
        else:
            raise CligymError(f"--agent must be procedural or llm; got {agent!r}")
    finally:
        reporter.close()
    reasons: dict[str, int] = {}
    for attempt in report.attempts:
        if attempt.rejection is not None:
            reasons[attempt.rejection] = reasons.get(attempt.rejection, 0) + 1
    out.print(
        f"{len(report.candidates)} candidates from {len(report.attempts)} attempts "
        f"(yield {report.yield_ratio:.0%}); rejected: "
        + (", ".join(f"{k} x{v}" for k, v in sorted(reasons.items())) or "none")
    )
    tokens = sum(a.prompt_tokens + a.completion_tokens for a in report.attempts)
    if tokens:
        out.print(f"LLM tokens: {tokens} ({tokens / max(1, len(report.attempts)):.0f} per session)")
    out.print("next: `cligym verify`")


@commands.command()
def verify(
    key: Annotated[str | None, typer.Argument(help="Only this gold env.")] = None,
    limit: Annotated[int | None, typer.Option(help="Verify at most this many candidates.")] = None,
    jobs: Annotated[int, typer.Option(help="Candidates verified in parallel.")] = 2,
) -> None:
    """Rebuild each candidate and check the verification contract; verified ones are tasks."""
    results = workspace().verify(key, limit=limit, jobs=jobs, reporter=RichReporter())
    ok = sum(r.ok for r in results)
    out.print(f"{ok} verified, {len(results) - ok} rejected; see `cligym list tasks`")


@commands.command()
def baseline(
    key: Annotated[str | None, typer.Argument(help="Only tasks of this gold env.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many tasks.")] = None,
    jobs: Annotated[int, typer.Option(help="Tasks measured at a time.")] = 1,
    rung: Annotated[
        list[str] | None, typer.Option("--rung", help="Only these rungs (repeatable).")
    ] = None,
    task: Annotated[
        list[str] | None, typer.Option("--task", help="Only this task, by id or name (repeatable).")
    ] = None,
) -> None:
    """Run the baseline ladder (blind repair scripts) on verified tasks, lowest rung first."""
    results = workspace().baseline(
        key, limit=limit, jobs=jobs, rungs=tuple(rung or ()), task_names=tuple(task or ()),
        reporter=RichReporter(),
    )
    table = Table("task", *(r.name for r in LADDER), "solved by")
    for task_id, runs in results.items():
        by_rung = {r.rung: r for r in runs}
        cells = []
        for r in LADDER:
            run = by_rung.get(r.name)
            cells.append("-" if run is None else f"{run.reward:g}")
        table.add_row(task_id, *cells, ladder_label(runs))
    out.print(table)
    total = len(results)
    solved, known = rung_counts(list(results.values()))
    for r in LADDER:
        share = f"{100 * solved[r.name] / total:.0f}%" if total else "-"
        final = "" if known[r.name] == total else f", measured on {known[r.name]}/{total} only"
        out.print(
            f"rung {r.level} {r.name}: solves {solved[r.name]}/{total} ({share}){final}"
            f" — {r.summary}"
        )


@list_commands.command("tasks")
def list_tasks(
    key: Annotated[str | None, typer.Argument(help="Only tasks of this gold env.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List verified tasks."""
    ws = workspace()
    tasks = ws.list_tasks(key)
    ladder = ws.baselines()
    if as_json:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "gold": t.gold_id,
                "families": t.families,
                "categories": [c.value for c in t.categories],
                "fail_to_pass": t.fail_to_pass,
                "pass_to_pass": len(t.pass_to_pass),
                "difficulty": t.difficulty,
                "difficulty_label": t.difficulty_label,
                "image": t.image_tag,
                "image_bytes_added": t.image_bytes_added,
                "llm_tokens": t.tokens,
                "baseline": ladder_label(ladder.get(t.id, [])),
                "repair_steps": repair_steps(t),
                "error_names_culprit": names_culprit(t),
            }
            for t in tasks
        ]
        out.print_json(json.dumps(rows))
        return
    table = Table(
        "id", "gold", "families", "category", "FAIL_TO_PASS", "difficulty", "baseline", "tokens"
    )
    for t in tasks:
        table.add_row(
            t.id,
            t.gold_id[:8],
            "+".join(t.families),
            ",".join(c.value for c in t.categories),
            str(len(t.fail_to_pass)),
            f"{t.difficulty_label} ({t.difficulty})",
            ladder_label(ladder.get(t.id, [])),
            str(t.tokens),
        )
    out.print(table if tasks else "no verified tasks yet; run `cligym invert` and `cligym verify`")

