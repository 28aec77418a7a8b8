"""Docker-tier helper: hold faults applied on the sample to the whole verification contract."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from cligym.api import Workspace
from cligym.faults.registry import family, ordered_solution
from cligym.ids import content_id
from cligym.records import AttemptOutcome, Candidate, FaultTarget, GoldEnv, RejectionReason
from cligym.verify.contract import verify_candidate


def assert_verified(
    workspace: Workspace,
    gold: GoldEnv,
    faults: Sequence[FaultTarget],
    outcome: AttemptOutcome,
    label: str,
) -> None:
    """The faults (as applied in `outcome`) become a task, or duplicate one already made."""
    fams = [family(f.family) for f in faults]
    steps = tuple(s for fam, f in zip(fams, faults, strict=True) for s in fam.steps(f))
    candidate = Candidate(
        id=content_id(label, gold.id, steps),
        gold_id=gold.id,
        faults=tuple(faults),
        families=tuple(f.family for f in faults),
        categories=tuple(fam.category for fam in fams),
        steps=steps,
        solution=ordered_solution(faults),
        needs_network=any(fam.needs_network for fam in fams),
        failing=outcome.failing,
        errors=outcome.errors,
        created_at=datetime.now(UTC),
    )
    result = verify_candidate(
        gold, candidate, workspace.settings, workspace.runtime, workspace.catalog
    )
    assert result.ok or result.rejection is RejectionReason.DUPLICATE, result.reason
