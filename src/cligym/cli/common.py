"""What every command module shares: the consoles, global flags, the rich progress reporter,
and the Workspace the global flags describe."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from cligym.api import Workspace
from cligym.config import Settings

# No emoji codes: `path:dash:` is a fault target, not a dash emoji.
console = Console(stderr=True, soft_wrap=True, emoji=False)
out = Console(soft_wrap=True, emoji=False)


class _State:
    workdir: Path | None = None
    debug: bool = False


state = _State()


class RichReporter:
    """Progress lines and bars on stderr (the library only emits events).

    With `keep`, only the bars of those stages stay once finished; the others (one per stage of
    each repository in a pipeline run) go away, so a 30-repo run shows what is running now.
    """

    def __init__(self, keep: set[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._bars: dict[str, TaskID] = {}
        self._keep = keep

    def stage(self, stage: str, message: str) -> None:
        """`message` is plain text: paths, targets and errors are never read as markup."""
        target = self._progress.console if self._progress else console
        style = "red" if message.startswith("failed ") else ""
        target.print(Text.assemble((f"{stage:>8} ", "dim"), (message, style)), highlight=False)

    def progress(self, stage: str, done: int, total: int, label: str = "") -> None:
        with self._lock:
            if self._progress is None:
                self._progress = Progress(
                    TextColumn("[bold]{task.description:>8}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TextColumn("eta"),
                    TimeRemainingColumn(),
                    console=console,
                    transient=False,
                )
                self._progress.start()
            ends = self._keep is not None and stage not in self._keep and done >= total
            if stage not in self._bars:
                if ends:
                    return  # a bar that would only appear finished and go away
                self._bars[stage] = self._progress.add_task(stage, total=total)
            self._progress.update(self._bars[stage], completed=done, total=total)
            if ends:
                self._progress.remove_task(self._bars.pop(stage))

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None
                self._bars.clear()


def workspace(test_timeout: int | None = None) -> Workspace:
    settings = Settings.from_env(state.workdir)
    if test_timeout is not None:
        settings = replace(settings, test_timeout_sec=test_timeout)
    return Workspace(settings)
