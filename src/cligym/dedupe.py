"""When two broken states are one task: the same gold, failing tests and error lines.

Shared by the search, which drops an attempt that repeats an earlier candidate's symptoms
before anything verifies it, and by verification, which keys each task by the same triple.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from cligym.faults.registry import is_blocker
from cligym.ids import content_id
from cligym.records import Candidate, GoldEnv

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


def dedupe_key(
    gold: GoldEnv, candidate: Candidate, fail_to_pass: Sequence[str], signature: str
) -> str:
    """Same gold, failing set and error signature: the same task. A repair chain shows the
    symptoms of its payload, so the tools it breaks are part of its key."""
    blockers = sorted(f.family for f in candidate.faults if is_blocker(f))
    if not blockers:
        return content_id("task", gold.id, fail_to_pass, signature)
    return content_id("task", gold.id, fail_to_pass, signature, blockers)


def candidate_key(gold: GoldEnv, candidate: Candidate) -> str:
    """The key of the task a candidate would become, from its attempt's own test run (the
    whole suite, as verification runs it)."""
    return dedupe_key(gold, candidate, candidate.failing, error_signature(candidate.errors))
