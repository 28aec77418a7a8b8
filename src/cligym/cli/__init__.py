"""The `cligym` command: one module per stage group, each a `typer.Typer` merged into `app`.

Commands only parse options, call `cligym.api` / `cligym.pipeline` and render with rich.
"""

from cligym.cli.main import app, main

__all__ = ["app", "main"]
