"""Docker-tier helpers: break a gold env with one family's fault, and hold faults so applied to
the whole verification contract."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest

from cligym.api import Workspace
from cligym.faults.base import FaultContext
from cligym.faults.registry import family, ordered_solution
from cligym.ids import content_id
from cligym.records import AttemptOutcome, Candidate, FaultTarget, GoldEnv, RejectionReason
from cligym.testbed.attempt import run_attempt
from cligym.verify.contract import verify_candidate


def first_breaking(
    workspace: Workspace,
    gold: GoldEnv,
    name: str,
    *,
    ctx: FaultContext | None = None,
    tries: int | None = None,
    accept: Callable[[FaultTarget, AttemptOutcome], bool] | None = None,
) -> tuple[FaultTarget, AttemptOutcome]:
    """The first target of family `name` (fewest predicted tests first) whose steps apply and
    fail a predicted test (and that `accept` takes), with that attempt; the test fails if none
    of the first `tries` does. Steps may refuse a target they cannot break (a library that
    defines no symbol versions): the next one is tried."""
    fam = family(name)
    ctx = ctx or workspace.fault_context(gold)
    targets = sorted(ctx.stamped(fam.targets(ctx)), key=lambda t: (len(t.predicted_tests),
                                                                    t.resource))
    assert targets, f"{name} finds nothing to break in {gold.source.name}"
    tail = ""
    for target in targets[:tries]:
        steps = tuple(fam.steps(target))
        outcome = run_attempt(
            workspace.runtime, gold, steps, timeout_sec=300,
            network=fam.needs_network and "install" in " ".join(steps),
        )
        tail = outcome.output_tail[-500:]
        broke = outcome.applied and set(outcome.failing) & set(target.predicted_tests)
        if broke and (accept is None or accept(target, outcome)):
            return target, outcome
    pytest.fail(f"{name}: none of {len(targets[:tries])} targets made a predicted test fail: "
                f"{tail}")


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
