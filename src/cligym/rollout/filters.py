"""Which trajectories are good training data (pure).

Kept: successful rollouts with at least `min_steps` agent steps, that took no shortcut and did
not loop. Shortcuts read what the environment's history leaks (package-manager logs and caches,
shell history, git metadata) or tamper with grading (editing or deleting test files, touching
the harness's own /tests, /solution or /logs). A loop is the same command, or a cycle of two or
three commands, repeated without the state changing in between.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cligym.records import FilterVerdict, Trajectory

SHORTCUTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reads package-manager logs", re.compile(r"/var/log/(apt|dpkg)|/var/log/alternatives")),
    ("reads package caches", re.compile(r"/var/cache/(apt|debconf)|\.cache/pip|pip\s+cache")),
    ("reads shell history", re.compile(r"\.(bash|zsh|python)_history|(^|[;&|(]\s*)history\b")),
    ("reads git metadata", re.compile(
        r"(^|[\s/])\.git(/|\s|$)|\bgit\s+(-C\s+\S+\s+)?(log|show|diff|reflog|status|blame)"
    )),
    ("edits or deletes test files", re.compile(
        r"(\brm\b|\bsed\s+-i|(?<![0-9&])>(?!\s*/dev/null)|\bmv\b|\bcp\b|\btee\b|\btruncate\b)"
        r"[^\n|;&]*(/app/tests?/(?!\S*__pycache__)|\btest_\w+\.py|conftest\.py)"
    )),
    ("touches the task's tooling", re.compile(
        r"(^|[\s'\"=;&|(])/(tests|solution|logs)(/|\s|$|[;&|)'\"])"
    )),
)
LOOP_REPEATS = 3


@dataclass(frozen=True)
class FilterConfig:
    min_steps: int = 20
    loop_repeats: int = LOOP_REPEATS


def _normalize(command: str) -> str:
    return " ".join(command.split())


def find_shortcuts(trajectory: Trajectory) -> list[str]:
    found: list[str] = []
    for step in trajectory.steps:
        for command in step.commands:
            for reason, pattern in SHORTCUTS:
                if pattern.search(command) and reason not in found:
                    found.append(reason)
    return found


def find_loop(trajectory: Trajectory, repeats: int = LOOP_REPEATS) -> str | None:
    """A command or a cycle of 2-3 commands repeated `repeats` times in a row, with the same
    output each time (no state change)."""
    turns = [
        ("\n".join(_normalize(c) for c in s.commands), _normalize(s.observation)[-500:])
        for s in trajectory.steps
        if s.commands
    ]
    for period in (1, 2, 3):
        run = 0
        for i in range(period, len(turns)):
            run = run + 1 if turns[i] == turns[i - period] else 0
            if run >= period * (repeats - 1):
                first = turns[i][0].splitlines()[0] if turns[i][0] else ""
                return f"loop: {period}-command cycle repeated {repeats}x ({first[:60]})"
    return None


def judge_trajectory(
    trajectory: Trajectory, config: FilterConfig = FilterConfig()
) -> FilterVerdict:
    """Every reason to drop the trajectory (kept when there is none)."""
    reasons: list[str] = []
    if trajectory.reward is None:
        reasons.append("no reward: " + trajectory.error[:80])
    elif trajectory.reward != 1.0:
        reasons.append("failed")
    reasons += [f"shortcut: {s}" for s in find_shortcuts(trajectory)]
    loop = find_loop(trajectory, config.loop_repeats)
    if loop:
        reasons.append(loop)
    if len(trajectory.steps) < config.min_steps:
        reasons.append(f"too short: {len(trajectory.steps)} < {config.min_steps} steps")
    return FilterVerdict(
        trajectory_id=trajectory.id,
        keep=not reasons,
        reasons=tuple(reasons),
        steps=len(trajectory.steps),
        created_at=datetime.now(UTC),
    )


@dataclass(frozen=True)
class FilterSummary:
    total: int
    kept: int
    failures: int
    loops_among_failures: int
    drop_reasons: dict[str, int]
    step_counts: tuple[int, ...]

    @property
    def loop_rate(self) -> float:
        return self.loops_among_failures / self.failures if self.failures else 0.0


def summarize(verdicts: Sequence[FilterVerdict]) -> FilterSummary:
    failures = [
        v for v in verdicts if any(r.startswith(("failed", "no reward")) for r in v.reasons)
    ]
    reasons: dict[str, int] = {}
    for v in verdicts:
        for r in v.reasons:
            key = r.split(":")[0] if not r.startswith("shortcut") else r.split(" (")[0]
            reasons[key] = reasons.get(key, 0) + 1
    return FilterSummary(
        total=len(verdicts),
        kept=sum(v.keep for v in verdicts),
        failures=len(failures),
        loops_among_failures=sum(any(r.startswith("loop") for r in v.reasons) for v in failures),
        drop_reasons=reasons,
        step_counts=tuple(sorted(v.steps for v in verdicts)),
    )
