"""Error signatures (for dedupe) and difficulty scores (pure)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import Literal

from cligym.records import Candidate

_NOISE = [
    (re.compile(r"0x[0-9a-fA-F]+"), "0x?"),
    (re.compile(r"/tmp/[^\s'\"]+"), "/tmp/?"),
    (re.compile(r"\b\d+(\.\d+)?\b"), "N"),
    (re.compile(r"\s+"), " "),
]


def normalize_error(message: str) -> str:
    """The last meaningful line of an error, without addresses, temp paths and numbers."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    line = next(
        (ln for ln in reversed(lines) if re.match(r"^[A-Za-z_.]+(Error|Exception)\b", ln)),
        lines[-1] if lines else "",
    )
    for pattern, repl in _NOISE:
        line = pattern.sub(repl, line)
    return line[:200]


def error_signature(errors: Mapping[str, str]) -> str:
    """Hash of the set of normalised error lines: two tasks with the same symptoms collide."""
    lines = sorted({normalize_error(m) for m in errors.values()})
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _near(candidate: Candidate, errors: Mapping[str, str]) -> bool:
    """Does the error text name what was broken (module, library, command, path)?"""
    words: set[str] = set()
    for target in candidate.faults:
        name = target.resource.name
        base = os.path.basename(name)
        words |= {base, base.split(".so")[0], name.split(".")[0]}
        words |= {v for _, v in target.params if v and not v.startswith("/")}
    words = {w.lower() for w in words if len(w) >= 3}
    text = " ".join(errors.values()).lower()
    return any(w in text for w in words)


def difficulty(
    candidate: Candidate, errors: Mapping[str, str], stable_count: int, runner_broken: bool
) -> tuple[float, Literal["easy", "medium", "hard"]]:
    """More faults, more categories, symptoms far from the cause, and fewer failing tests
    (subtle breakage) make a task harder."""
    score = 1.0 * len(candidate.faults) + 0.5 * (len(set(candidate.categories)) - 1)
    score += 0.0 if _near(candidate, errors) else 1.5
    share = len(candidate.failing) / max(1, stable_count)
    score += 1.0 if share < 0.1 else (0.5 if share < 0.5 else 0.0)
    if runner_broken:
        score -= 0.5  # nothing runs at all: loud, if not always easy to place
    score = round(max(score, 0.5), 2)
    label: Literal["easy", "medium", "hard"] = (
        "easy" if score < 2.0 else "medium" if score < 3.5 else "hard"
    )
    return score, label
