"""The `cligym` command: parse flags, call `cligym.api`, render with rich. No logic lives here."""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from cligym import __version__, cli_dataset, cli_pipeline, cli_rollout
from cligym.api import GoldOutcome
from cligym.clitools import RichReporter, console, out, state, workspace
from cligym.errors import CligymError
from cligym.faults.registry import families
from cligym.gold.build import GoldRequest
from cligym.llm.client import LlmSpec
from cligym.records import GoldEnv
from cligym.resources import render_impact_summary
from cligym.runtime.doctor import CheckState

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Manufacture environment-repair tasks for terminal agents.",
)
list_app = typer.Typer(no_args_is_help=True, help="List records in the catalog.")
app.add_typer(list_app, name="list")


_workspace = workspace


def _version(value: bool) -> None:
    if value:
        out.print(f"cligym {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            "-w",
            help="Work directory (catalog + artifacts). \\[default: ./cligym-work]",
            envvar="CLIGYM_WORKDIR",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Log details and show tracebacks.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    state.workdir = workdir
    state.debug = debug
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("cligym").setLevel(logging.DEBUG if debug else logging.WARNING)


@app.command()
def gold(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Local directory, git repo (path or URL, optional @ref), "
            "or pypi:NAME\\[==VERSION]."
        ),
    ],
    runs: Annotated[int, typer.Option(help="Test runs; stable = passed in every run.")] = 2,
    min_tests: Annotated[int, typer.Option(help="Fewest stably passing tests to accept.")] = 5,
    profile: Annotated[Path | None, typer.Option(help="TOML profile overriding detection.")] = None,
    test_timeout: Annotated[int | None, typer.Option(help="Seconds per test run.")] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Ignore the catalog and the Docker build cache.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Build gold environments: images in which the repo's tests pass stably."""
    ws = _workspace(test_timeout)
    requests = [
        GoldRequest(spec=s, runs=runs, min_tests=min_tests, profile_path=profile, rebuild=rebuild)
        for s in sources
    ]
    outcomes = ws.gold_many(requests, RichReporter())
    _render_outcomes(outcomes, as_json)
    failed = [o for o in outcomes if o.error]
    if failed:
        for o in failed:
            console.print(f"[red]error:[/red] {o.error}")
        raise typer.Exit(1)


def _render_outcomes(outcomes: list[GoldOutcome], as_json: bool) -> None:
    if as_json:
        rows = [
            {
                "source": o.spec,
                "error": o.error,
                "cached": o.result.cached if o.result else None,
                "gold": _gold_summary(o.result.gold) if o.result else None,
            }
            for o in outcomes
        ]
        out.print_json(json.dumps(rows))
        return
    for o in outcomes:
        if o.result is None:
            continue
        g = o.result.gold
        how = "cache hit" if o.result.cached else f"built in {o.result.duration_sec:.0f} s"
        s = g.stability
        out.print(
            f"[green]gold[/green] {g.id} [bold]{g.name}[/bold] ({how}): "
            f"{len(s.stable_passing)} stable, {len(s.flaky)} flaky, {len(s.failing)} failing, "
            f"{len(s.skipped)} skipped over {s.runs} runs; python {g.python_version}; "
            f"image {g.image_tag}"
        )


def _gold_summary(g: GoldEnv) -> dict[str, object]:
    s = g.stability
    return {
        "id": g.id,
        "name": g.name,
        "source": g.source.spec,
        "resolved": g.source.resolved,
        "image": g.image_tag,
        "image_id": g.image_id,
        "python": g.python_version,
        "stable": len(s.stable_passing),
        "flaky": len(s.flaky),
        "failing": len(s.failing),
        "skipped": len(s.skipped),
        "runs": s.runs,
        "created_at": g.created_at.isoformat(),
    }


@list_app.command("gold")
def list_gold(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List gold environments in the catalog."""
    golds = _workspace().list_gold()
    if as_json:
        out.print_json(json.dumps([_gold_summary(g) for g in golds]))
        return
    table = Table("id", "name", "source", "stable", "flaky", "failing", "python", "image")
    for g in golds:
        s = g.stability
        table.add_row(
            g.id,
            g.name,
            g.source.spec,
            str(len(s.stable_passing)),
            str(len(s.flaky)),
            str(len(s.failing)),
            g.python_version,
            g.image_tag,
        )
    out.print(table if golds else "no gold environments yet; try `cligym gold pypi:attrs`")


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="Gold id (or prefix), name or source.")],
    tests: Annotated[bool, typer.Option(help="List the stable, flaky and failing tests.")] = False,
    impact: Annotated[bool, typer.Option(help="Summarize the impact map (see `probe`).")] = False,
) -> None:
    """Show one gold environment: source, recipe, Dockerfile, test summary."""
    ws = _workspace()
    g = ws.get_gold(key)
    if impact:
        stored = ws.catalog.get_impact(g.id)
        if stored is None:
            raise CligymError(f"{g.name} has no impact map yet; run `cligym probe {g.id}`")
        for line in render_impact_summary(stored):
            out.print(line, markup=False, highlight=False)
        return
    out.print_json(json.dumps(_gold_summary(g)))
    out.print("[bold]recipe notes[/bold]")
    for note in g.recipe.notes:
        out.print(f"  - {note}")
    out.print("[bold]Dockerfile[/bold]")
    out.print(g.dockerfile, markup=False, highlight=False)
    if tests:
        for label, ids in (
            ("stable", g.stability.stable_passing),
            ("flaky", g.stability.flaky),
            ("failing", g.stability.failing),
            ("skipped", g.stability.skipped),
        ):
            out.print(f"[bold]{label}[/bold] ({len(ids)})")
            for nodeid in ids:
                out.print(f"  {nodeid}", markup=False, highlight=False)


@app.command()
def probe(
    key: Annotated[str, typer.Argument(help="Gold id (or prefix), name or source.")],
    refresh: Annotated[bool, typer.Option(help="Probe again even if a map is stored.")] = False,
) -> None:
    """Record what each stable test touches: modules, shared libraries, files, commands, env."""
    impact = _workspace().probe(key, refresh=refresh, reporter=RichReporter())
    for line in render_impact_summary(impact):
        out.print(line, markup=False, highlight=False)


@app.command()
def faults() -> None:
    """List the fault catalog: families, categories, descriptions."""
    table = Table("family", "category", "description")
    for fam in families():
        table.add_row(fam.name, fam.category.value, fam.description)
    out.print(table)


@app.command()
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
            report = _workspace().invert_llm(
                key, spec, budget, seed, max_steps, max_tokens, reporter=reporter
            )
        elif agent == "procedural":
            report = _workspace().invert(
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


@app.command()
def verify(
    key: Annotated[str | None, typer.Argument(help="Only this gold env.")] = None,
    limit: Annotated[int | None, typer.Option(help="Verify at most this many candidates.")] = None,
    jobs: Annotated[int, typer.Option(help="Candidates verified in parallel.")] = 2,
) -> None:
    """Rebuild each candidate and check the verification contract; verified ones are tasks."""
    results = _workspace().verify(key, limit=limit, jobs=jobs, reporter=RichReporter())
    ok = sum(r.ok for r in results)
    out.print(f"{ok} verified, {len(results) - ok} rejected; see `cligym list tasks`")


@list_app.command("tasks")
def list_tasks(
    key: Annotated[str | None, typer.Argument(help="Only tasks of this gold env.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List verified tasks."""
    tasks = _workspace().list_tasks(key)
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
            }
            for t in tasks
        ]
        out.print_json(json.dumps(rows))
        return
    table = Table("id", "gold", "families", "category", "FAIL_TO_PASS", "difficulty", "tokens")
    for t in tasks:
        table.add_row(
            t.id,
            t.gold_id[:8],
            "+".join(t.families),
            ",".join(c.value for c in t.categories),
            str(len(t.fail_to_pass)),
            f"{t.difficulty_label} ({t.difficulty})",
            str(t.tokens),
        )
    out.print(table if tasks else "no verified tasks yet; run `cligym invert` and `cligym verify`")


@app.command()
def doctor(
    min_free_gb: Annotated[float, typer.Option(help="Free disk space required.")] = 10.0,
) -> None:
    """Check Docker, storage, base image, pip/CA forwarding and disk; say how to fix problems."""
    report = _workspace().doctor(min_free_gb)
    colors = {CheckState.OK: "green", CheckState.WARN: "yellow", CheckState.FAIL: "red"}
    for check in report.checks:
        color = colors[check.state]
        out.print(
            f"[{color}]{check.state.value:>4}[/{color}] {check.name}: {check.detail}",
            highlight=False,
        )
        if check.fix:
            out.print(f"      fix: {check.fix}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def gc(
    images: Annotated[
        bool, typer.Option(help="Also remove gold and task images not in the catalog.")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Also remove containers of runs still alive.")
    ] = False,
) -> None:
    """Remove containers (and optionally images) labelled by cligym; never anything else."""
    report = _workspace().gc(images=images, force=force)
    out.print(
        f"removed {len(report.containers)} container(s), {len(report.images)} image(s), "
        f"{len(report.staging_dirs)} staging dir(s)"
        + (f"; kept {len(report.kept_live)} of live runs" if report.kept_live else "")
    )


@app.command()
def base(rebuild: Annotated[bool, typer.Option(help="Rebuild even if cached.")] = False) -> None:
    """Build (or show) the base image: pulled python slim, or debootstrap + docker import."""
    result = _workspace().build_base(rebuild=rebuild, reporter=RichReporter())
    how = "built" if result.built else "cached"
    out.print(f"base image {result.tag} ({how}, from {result.from_image}) {result.image_id[:19]}")


for command in (cli_dataset.package, cli_dataset.export, cli_dataset.validate, cli_dataset.demo):
    app.command()(command)
app.command()(cli_rollout.rollout)
app.command("filter")(cli_rollout.filter_trajectories)
app.command()(cli_rollout.sft)
app.command()(cli_pipeline.run)
app.command()(cli_pipeline.report)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`: containers get removed


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()  # standalone: usage errors print help text and exit 2
    except CligymError as err:
        if state.debug:
            console.print_exception()
        console.print(f"[red]error:[/red] {str(err).splitlines()[0]}", highlight=False)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]; containers of this run were removed")
        sys.exit(130)
    except Exception as err:
        if state.debug:
            raise
        console.print(
            f"[red]internal error:[/red] {type(err).__name__}: {err} (rerun with --debug)",
            highlight=False,
        )
        sys.exit(70)
