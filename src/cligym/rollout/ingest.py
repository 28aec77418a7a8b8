"""Read Harbor trials (result.json + ATIF trajectory.json) into Trajectory records (pure)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cligym.harness.harbor import parse_trial_result
from cligym.ids import content_id
from cligym.records import Trajectory, TrajectoryStep

OBSERVATION_CHARS = 8000


def _text(value: Any) -> str:
    """ATIF message/content: a string or a list of content parts."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(str(p.get("text", "")) for p in value if isinstance(p, dict))
    return str(value)


def first_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a reply, even inside a code fence or after prose (as
    terminus-2's own parser accepts it)."""
    decoder = json.JSONDecoder()
    for start in [m.start() for m in re.finditer(r"\{", text)][:50]:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _commands(step: dict[str, Any]) -> tuple[str, ...]:
    """The commands of an agent step: tool-call arguments, or a terminus JSON reply."""
    out: list[str] = []
    for call in step.get("tool_calls") or []:
        args = call.get("arguments") or {}
        for key in ("keystrokes", "command", "cmd"):
            if isinstance(args.get(key), str):
                out.append(args[key])
                break
    if out:
        return tuple(out)
    reply = first_json_object(_text(step.get("message")))
    if isinstance(reply, dict):
        for command in reply.get("commands") or []:
            if isinstance(command, dict) and isinstance(command.get("keystrokes"), str):
                out.append(command["keystrokes"])
    return tuple(out)


def parse_atif(data: dict[str, Any]) -> tuple[list[TrajectoryStep], int, int]:
    """Agent steps of an ATIF trajectory, and its prompt/completion token totals."""
    steps: list[TrajectoryStep] = []
    prompt = completion = 0
    for step in data.get("steps") or []:
        if step.get("source") != "agent" or step.get("is_copied_context"):
            continue
        observation = step.get("observation") or {}
        results = observation.get("results") or [] if isinstance(observation, dict) else []
        seen = "\n".join(_text(r.get("content")) for r in results if isinstance(r, dict))
        steps.append(
            TrajectoryStep(
                message=_text(step.get("message")),
                commands=_commands(step),
                observation=seen[-OBSERVATION_CHARS:],
            )
        )
        metrics = step.get("metrics") or {}
        prompt += int(metrics.get("prompt_tokens") or 0)
        completion += int(metrics.get("completion_tokens") or 0)
    return steps, prompt, completion


def ingest_trial(
    trial_dir: Path, model: str, hint_level: str, task_id: str = ""
) -> Trajectory | None:
    """A Trajectory from one Harbor trial directory (None when it has no result)."""
    result_path = trial_dir / "result.json"
    if not result_path.is_file():
        return None
    result = json.loads(result_path.read_text())
    agent = str((result.get("agent_info") or {}).get("name") or "")
    run = parse_trial_result(result, agent, str(trial_dir))
    atif_path = trial_dir / "agent" / "trajectory.json"
    steps: list[TrajectoryStep] = []
    prompt = completion = 0
    if atif_path.is_file():
        steps, prompt, completion = parse_atif(json.loads(atif_path.read_text()))
    return Trajectory(
        id=content_id("trajectory", str(trial_dir.resolve())),
        task_name=run.task_name,
        task_id=task_id,
        hint_level=hint_level,
        harness="harbor",
        agent=agent,
        model=model,
        reward=run.reward,
        error=run.error,
        steps=tuple(steps),
        prompt_tokens=prompt,
        completion_tokens=completion,
        trial_dir=str(trial_dir),
        created_at=datetime.now(UTC),
    )
