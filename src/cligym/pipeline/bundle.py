"""What one repository's work unit produced, as plain data that can travel between machines.

A worker on another node has its own work directory and Docker daemon. It sends back every
catalog record of its gold env (JSON), and the driver writes them into its own catalog. Gold
images travel separately, and only when the driver's Docker lacks them (`docker save` on the
worker, `docker load` on the driver); task images are not needed to export tasks, since a task
is its gold image plus its Dockerfile steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from cligym.catalog import Catalog
from cligym.dedupe import dedupe_key
from cligym.records import Attempt, Candidate, GoldEnv, ImpactMap, IssueText, Task, VerifyResult


@dataclass(frozen=True)
class RecordBundle:
    """JSON records of one gold env, in dependency order."""

    gold: str = ""
    impact: str = ""
    attempts: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    verify_results: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()


def export_records(catalog: Catalog, gold_id: str) -> RecordBundle:
    gold = catalog.get_gold(gold_id)
    if gold is None:
        return RecordBundle()
    impact = catalog.get_impact(gold_id)
    tasks = catalog.list_tasks(gold_id)
    issues = [i for t in tasks if (i := catalog.get_issue(t.id)) is not None]
    return RecordBundle(
        gold=gold.model_dump_json(),
        impact=impact.model_dump_json() if impact else "",
        attempts=tuple(a.model_dump_json() for a in catalog.list_attempts(gold_id)),
        candidates=tuple(c.model_dump_json() for c in catalog.list_candidates(gold_id)),
        verify_results=tuple(v.model_dump_json() for v in catalog.list_verify_results(gold_id)),
        tasks=tuple(t.model_dump_json() for t in tasks),
        issues=tuple(i.model_dump_json() for i in issues),
    )


def import_records(catalog: Catalog, bundle: RecordBundle) -> GoldEnv | None:
    """Write a bundle into this catalog (idempotent: records are keyed by content ids)."""
    if not bundle.gold:
        return None
    gold = GoldEnv.model_validate_json(bundle.gold)
    catalog.put_gold(gold)
    if bundle.impact:
        catalog.put_impact(ImpactMap.model_validate_json(bundle.impact))
    candidates = {c.id: c for c in map(Candidate.model_validate_json, bundle.candidates)}
    for attempt in map(Attempt.model_validate_json, bundle.attempts):
        catalog.put_attempt(attempt, candidates.get(attempt.candidate_id or ""))
    tasks = {t.id: t for t in map(Task.model_validate_json, bundle.tasks)}
    for result in map(VerifyResult.model_validate_json, bundle.verify_results):
        task = tasks.get(result.task_id or "")
        candidate = candidates.get(result.candidate_id)
        key = None
        if task is not None and candidate is not None:
            # the key verification gave it: a chain's includes its blockers, so a chain and
            # its payload's single stay two tasks here too
            key = dedupe_key(gold, candidate, task.fail_to_pass, task.signature)
        catalog.put_verify_result(result, gold.id, task, key)
    for issue in map(IssueText.model_validate_json, bundle.issues):
        catalog.put_issue(issue, gold.id)
    return gold
