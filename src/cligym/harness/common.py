"""What both harness adapters share: finding executables, running them bounded and logged."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from cligym.errors import CligymError


class HarnessError(CligymError):
    """A harness is missing or did not run."""


def harness_executable(name: str, extra: str = "harness") -> Path:
    """The harness CLI installed next to this interpreter (or on PATH)."""
    local = Path(sys.executable).parent / name
    found = local if local.is_file() else (Path(p) if (p := shutil.which(name)) else None)
    if found is None:
        raise HarnessError(f"`{name}` is not installed: pip install 'cligym[{extra}]'")
    return found


def harness_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for harness CLIs: no network fetch of LiteLLM's cost map at start-up."""
    env = {**os.environ, **(extra or {})}
    env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_logged(
    argv: Sequence[str],
    log_path: Path,
    timeout_sec: int,
    cwd: Path,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run argv with output into log_path; the whole process group dies on timeout/interrupt."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            list(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=harness_env(env),
            cwd=cwd,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=timeout_sec)
        except subprocess.TimeoutExpired as err:
            _kill_group(proc)
            raise HarnessError(
                f"{Path(argv[0]).name} did not finish within {timeout_sec} s (log: {log_path})"
            ) from err
        except BaseException:
            _kill_group(proc)
            raise


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(ln.strip() for ln in text.strip().splitlines()[-lines:])
