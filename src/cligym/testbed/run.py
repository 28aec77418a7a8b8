"""One test run in a fresh container of a gold (or broken) image: the way gold, the probe,
inversion attempts and verification all run tests.

The container starts as root in the project directory without network; its command ends by
running the documented test command as the test user (`render_as_tester`), and what that run
wrote to the results directory comes back with the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cligym.runtime.archive import read_file_from_tar
from cligym.runtime.protocol import ExecResult, Runtime
from cligym.testbed.layout import JUNIT_PATH, RESULTS_DIR


@dataclass(frozen=True)
class TestRun:
    """The container's outcome and the results directory it left (tar bytes)."""

    result: ExecResult
    results_tar: bytes

    def text(self, path: str) -> str | None:
        """A file the run wrote under the results directory (by its path or base name)."""
        data = read_file_from_tar(self.results_tar, Path(path).name)
        return data.decode(errors="replace") if data is not None else None

    @property
    def junit(self) -> str | None:
        return self.text(JUNIT_PATH)


def run_tests(
    runtime: Runtime,
    image: str,
    argv: Sequence[str],
    *,
    stage: str,
    timeout_sec: int,
    env: Mapping[str, str],
    workdir: str,
    network: bool = False,
    inputs: Sequence[tuple[Path, str]] = (),
) -> TestRun:
    """Run `argv` (as root, in the project directory `workdir`) in a fresh container of
    `image`."""
    result, files = runtime.run(
        image,
        argv,
        stage=stage,
        timeout_sec=timeout_sec,
        user="root",
        workdir=workdir,
        env=env,
        network=network,
        collect=[RESULTS_DIR],
        inputs=inputs,
    )
    return TestRun(result, files.get(RESULTS_DIR, b""))
