"""Run a task's verifier in a disposable container, exactly as a harness would after the agent.

Verification uses it to hold every task to its own grader: the specific solution and the
restore-from-gold must score 1 under the very files the export ships. The reward-hack suite
uses it too (a hack in place of the agent must score 0).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass

from cligym.errors import CommandTimeoutError
from cligym.grading.verifier import EXECUTABLE_TESTS
from cligym.runtime.archive import read_file_from_tar
from cligym.runtime.protocol import Runtime

LOGS = "/run/cligym-verifier-logs"
SOLUTION_MARKER = "=== cligym: agent phase done ==="


@dataclass(frozen=True)
class VerifierRun:
    """What the verifier decided, and why (its own output)."""

    reward: float
    output: str
    agent_output: str
    timed_out: bool

    @property
    def reason(self) -> str:
        return explain(self.output)


def explain(output: str) -> str:
    """The verifier output's line that best explains its verdict: the first difference from
    gold, else why the interpreter was not trusted, else the first test not passed, else the
    last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for i, text in enumerate(lines):
        if text.startswith("integrity:") and "difference(s)" in text and i + 1 < len(lines):
            return lines[i + 1]
    for prefix in ("integrity:", "not passed"):
        for text in lines:
            if text.startswith(prefix) and "matches the original" not in text:
                return text
    return lines[-1] if lines else "(no verifier output)"


def _tar(dest: str, files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    name = dest.strip("/")
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        for rel, data in sorted(files.items()):
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size = len(data)
            info.mode = 0o755 if rel in EXECUTABLE_TESTS else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def run_verifier(
    runtime: Runtime,
    image: str,
    tests: dict[str, bytes],
    *,
    agent_steps: Sequence[str] = (),
    timeout_sec: int,
    network: bool = False,
    stage: str = "verify",
    archives: Sequence[tuple[str, bytes]] = (),
) -> VerifierRun:
    """Start `image`, run `agent_steps` as root (the agent phase, stopping at the first that
    fails), copy tests/ in, run the verifier; all in one container, as a harness does."""
    agent = "\n".join(["set -e", *(f"( {step} )" for step in agent_steps)])
    with runtime.container(image, stage=stage, user="root", network=network) as box:
        for dest, data in archives:
            runtime.extract(box, dest, data)
        try:
            first = runtime.exec(
                box, ["bash", "-c", f"{agent}\necho '{SOLUTION_MARKER}'"],
                timeout_sec=timeout_sec,  # in the image's WORKDIR, as a harness runs the agent
            )
            runtime.extract(box, "/", _tar("/tests", tests))
            verdict = runtime.exec(
                box, ["/tests/test.sh"], timeout_sec=timeout_sec + 300,
                env={"CLIGYM_VERIFIER_LOGS": LOGS}, bound_inside=False,
            )
        except CommandTimeoutError as err:  # a hung repair or verifier is a 0, not a crash
            return VerifierRun(reward=0.0, output=str(err), agent_output="", timed_out=True)
        reward_text = read_file_from_tar(runtime.read_path(box, f"{LOGS}/reward.txt"))
    try:
        reward = float((reward_text or b"0").decode().strip() or 0)
    except ValueError:
        reward = 0.0
    return VerifierRun(
        reward=reward,
        output=verdict.output,
        agent_output=first.output,
        timed_out=verdict.timed_out or first.timed_out,
    )
