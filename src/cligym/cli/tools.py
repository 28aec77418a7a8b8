"""Looking after the machine: `doctor`, `gc`, `base`."""

from __future__ import annotations

from typing import Annotated

import typer

from cligym.cli.common import RichReporter, out, workspace
from cligym.runtime.doctor import CheckState

commands = typer.Typer()


@commands.command()
def doctor(
    min_free_gb: Annotated[float, typer.Option(help="Free disk space required.")] = 10.0,
) -> None:
    """Check Docker, storage, base image, pip/CA forwarding and disk; say how to fix problems."""
    report = workspace().doctor(min_free_gb)
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


@commands.command()
def gc(
    images: Annotated[
        bool, typer.Option(help="Also remove gold and task images not in the catalog.")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Also remove containers of runs still alive.")
    ] = False,
) -> None:
    """Remove containers (and optionally images) labelled by cligym; never anything else."""
    report = workspace().gc(images=images, force=force)
    out.print(
        f"removed {len(report.containers)} container(s), {len(report.images)} image(s), "
        f"{len(report.staging_dirs)} staging dir(s)"
        + (f"; kept {len(report.kept_live)} of live runs" if report.kept_live else "")
    )


@commands.command()
def base(
    rebuild: Annotated[bool, typer.Option(help="Rebuild even if cached.")] = False,
    release: Annotated[
        str, typer.Option(help="Debian release: bookworm (the default base) or trixie.")
    ] = "bookworm",
) -> None:
    """Build (or show) the base image: pulled python slim, or debootstrap + docker import."""
    result = workspace().build_base(rebuild=rebuild, release=release, reporter=RichReporter())
    how = "built" if result.built else "cached"
    out.print(f"base image {result.tag} ({how}, from {result.from_image}) {result.image_id[:19]}")

