"""The `cligym` app: global flags, the stage groups merged in, and how errors reach the user.

Every command module (`cligym.cli.gold`, `.invert`, ...) holds a `typer.Typer` of its commands;
they are merged here in pipeline order. Errors: a `CligymError` is one line and its exit code,
anything else "internal error" and exit 70; tracebacks only with --debug.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

import cligym.cli.dataset as dataset_cli
import cligym.cli.gold as gold_cli
import cligym.cli.invert as invert_cli
import cligym.cli.pipeline as pipeline_cli
import cligym.cli.rollout as rollout_cli
import cligym.cli.tools as tools_cli
from cligym import __version__
from cligym.cli.common import console, out, state
from cligym.errors import CligymError


class _CligymGroup(TyperGroup):
    """Turns a CligymError raised by a command into its one line and exit code, so what a user
    sees is also what typer's CliRunner sees. Anything else is a bug: see `main`."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CligymError as err:
            if state.debug:
                console.print_exception()
            console.print(f"[red]error:[/red] {str(err).splitlines()[0]}", highlight=False)
            raise typer.Exit(err.exit_code) from None


app = typer.Typer(
    cls=_CligymGroup,
    no_args_is_help=True,
    add_completion=False,
    help="Manufacture environment-repair tasks for terminal agents.",
)
list_app = typer.Typer(no_args_is_help=True, help="List records in the catalog.")
# The command modules, merged in pipeline order; `list` (a named group) comes last.
for group in (gold_cli, invert_cli, tools_cli, dataset_cli, rollout_cli, pipeline_cli):
    app.add_typer(group.commands)
for listing in (gold_cli, invert_cli):
    list_app.add_typer(listing.list_commands)
app.add_typer(list_app, name="list")


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


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`: containers get removed


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()  # standalone: usage errors print help text and exit 2
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
