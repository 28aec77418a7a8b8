"""Difficulty scores (pure)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from cligym.records import Candidate


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
