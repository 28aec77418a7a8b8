"""Gold environments: `gold`, `show`, `probe` and `list gold`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cligym.api import GoldOutcome
from cligym.cli.common import RichReporter, console, out, workspace
from cligym.errors import CligymError
from cligym.gold.build import GoldRequest
from cligym.records import GoldEnv
from cligym.resources import render_impact_summary

commands = typer.Typer()
list_commands = typer.Typer()


@commands.command()
def gold(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Local directory, git repo (path or URL, optional @ref), "
            "pypi:NAME\\[==VERSION], or image:REF (an image with the project and its "
            "environment: SWE-bench, SWE-smith, SWE-Gym, R2E-Gym, or --layout)."
        ),
    ],
    runs: Annotated[int, typer.Option(help="Test runs; stable = passed in every run.")] = 2,
    min_tests: Annotated[int, typer.Option(help="Fewest stably passing tests to accept.")] = 5,
    profile: Annotated[Path | None, typer.Option(help="TOML profile overriding detection.")] = None,
    test_timeout: Annotated[int | None, typer.Option(help="Seconds per test run.")] = None,
    per_test_timeout: Annotated[
        int | None,
        typer.Option(
            min=0, help="Seconds one test may take (pytest-timeout; default 120, 0: off)."
        ),
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Ignore the catalog and the Docker build cache.")
    ] = False,
    tests: Annotated[
        list[str] | None,
        typer.Option(
            "--tests", help="Only these test paths or node ids (repeat it): a huge suite's part."
        ),
    ] = None,
    keyword: Annotated[
        str, typer.Option("-k", help="Only tests matching this pytest -k expression.")
    ] = "",
    layout: Annotated[
        str,
        typer.Option(
            help="image:REF only: swe-bench, swe-smith, swe-gym, r2e-gym, or a TOML file "
            "(default: recognised from the image)."
        ),
    ] = "",
    dockerfile: Annotated[
        str,
        typer.Option(
            help="The repository's own Dockerfile (a path in it) as the recipe: its WORKDIR is "
            "the project, the python on its PATH the environment. A devcontainer.json (or "
            ".devcontainer) builds the dev container and runs its creation commands."
        ),
    ] = "",
    python: Annotated[
        str,
        typer.Option(
            help="X.Y: build on the base image whose python3 this is (Debian bookworm 3.11, "
            "trixie 3.13; default: bookworm's)."
        ),
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Build gold environments: images in which the repo's tests pass stably."""
    ws = workspace(test_timeout)
    requests = [
        GoldRequest(
            spec=s, runs=runs, min_tests=min_tests, profile_path=profile, rebuild=rebuild,
            tests=tuple(tests or ()), keyword=keyword, per_test_timeout=per_test_timeout,
            layout=layout, dockerfile=dockerfile, python=python,
        )
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
                "gold": gold_summary(o.result.gold) if o.result else None,
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


def gold_summary(g: GoldEnv) -> dict[str, object]:
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


@list_commands.command("gold")
def list_gold(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List gold environments in the catalog."""
    golds = workspace().list_gold()
    if as_json:
        out.print_json(json.dumps([gold_summary(g) for g in golds]))
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


@commands.command()
def show(
    key: Annotated[str, typer.Argument(help="Gold id (or prefix), name or source.")],
    tests: Annotated[bool, typer.Option(help="List the stable, flaky and failing tests.")] = False,
    impact: Annotated[bool, typer.Option(help="Summarize the impact map (see `probe`).")] = False,
) -> None:
    """Show one gold environment: source, recipe, Dockerfile, test summary."""
    ws = workspace()
    g = ws.get_gold(key)
    if impact:
        stored = ws.catalog.get_impact(g.id)
        if stored is None:
            raise CligymError(f"{g.name} has no impact map yet; run `cligym probe {g.id}`")
        for line in render_impact_summary(stored):
            out.print(line, markup=False, highlight=False)
        return
    out.print_json(json.dumps(gold_summary(g)))
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


@commands.command()
def probe(
    key: Annotated[str, typer.Argument(help="Gold id (or prefix), name or source.")],
    refresh: Annotated[bool, typer.Option(help="Probe again even if a map is stored.")] = False,
) -> None:
    """Record what each stable test touches: modules, shared libraries, files, commands, env."""
    impact = workspace().probe(key, refresh=refresh, reporter=RichReporter())
    for line in render_impact_summary(impact):
        out.print(line, markup=False, highlight=False)
