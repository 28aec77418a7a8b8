"""Procedural, impact-guided search for broken environments (zero LLM tokens).

Plan (pure): every family proposes targets from the impact map; targets are visited round-robin
over families in a seeded order, so attempts spread over families, resources and test subsets,
and near-duplicates (same family, same predicted tests) are skipped; families whose variants
teach one lesson (a `variant_group`: one stdlib module after another) get VARIANT_GROUP_CAP
singles per gold env together, and no chain or composition is built on them. Once singles have
been found, two kinds of multi-fault attempts are interleaved:
- repair chains (two slots in COMPOSE_EVERY, and the composition slot when no composition
  fits): an accepted fault whose repair runs pip or apt, or a sibling of it (another family's
  fault on the same resource with the same repair that fails as surely: the library built
  for another CPU instead of cut short; or a fault of a `payload_only` family, never tried
  alone: a stdlib extension module cut short after one removed),
  joined by two blockers of different families that break that tool (its TLS bundle, index,
  configuration, own code, a pin, a RECORD; dpkg's journal or path filters, apt's keys,
  sources, proxy or configuration), the families joined least so far first, so the repair has
  an order and meets other errors; payload families with the fewest tasks so far go first,
  and at most CHAINS_PER_RESOURCE chains aim at one resource, CHAINS_PER_PAYLOAD of them with
  one payload (the next one carries a sibling, or, when no other payload is left, the same
  one with other blockers); one single per family and resource;
- compositions of 2..max accepted faults from different categories, each failing tests of its
  own, the largest first; a set of faults tried once is not tried again in another order.
Feedback: a resource whose fault broke no test goes to the back of the queue; so do targets of
a family with FAMILY_CAP tasks in the gold env, and variants once the gold env has a few tasks.
An attempt that fails the same tests with the same errors as an earlier candidate (and breaks
the same tools) is that task again (`cligym.dedupe`): rejected as a duplicate, not verified.
Act: each attempt is one disposable container (see attempt.py); accepted ones become Candidates.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import zip_longest

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.dedupe import candidate_key
from cligym.faults.base import FaultContext, FaultFamily
from cligym.faults.registry import families, is_blocker, ordered_solution, repair_tools
from cligym.ids import content_id
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import Attempt, Candidate, FaultTarget, GoldEnv, RejectionReason, ResourceKey
from cligym.runtime.protocol import Runtime
from cligym.testbed.attempt import last_line, run_attempt, suite_timeout_sec

FULL_RUN_LIMIT = 400  # suites up to this size run whole (unless slow); larger ones a selection
SLOW_RUN_SEC = 20.0  # a gold test run slower than this runs a selection whatever its size
SAMPLE_OTHERS = 20
COMPOSE_EVERY = 4  # one attempt in COMPOSE_EVERY is a composition, once two singles exist
CHAIN_AT = (1, 2)  # and these slots (index % COMPOSE_EVERY) a repair chain, once a payload exists
CHAIN_BLOCKERS = (2,)  # broken tools per chain (fewer when fewer break the tool)
VARIANT_GROUP_CAP = 1  # single-fault tasks per gold env of one variant group
VARIANTS_AFTER = 6  # single turns before the first variant-group target
CHAINS_PER_RESOURCE = 2  # accepted chains whose payload aims at one resource; then another
CHAINS_PER_PAYLOAD = 1  # of them on one payload (family and resource): the next is a sibling's
FAMILY_CAP = 2  # tasks of one family per gold env before its other targets wait for the rest
VARIANTS_WHILE_FEWER = 3  # a variant takes its turn only while the gold env has fewer tasks
NO_FAILURE = "no gold-stable test failed"


@dataclass(frozen=True)
class InvertReport:
    attempts: tuple[Attempt, ...]
    candidates: tuple[Candidate, ...]

    @property
    def yield_ratio(self) -> float:
        return len(self.candidates) / len(self.attempts) if self.attempts else 0.0


def plan_singles(ctx: FaultContext, fams: Sequence[FaultFamily], seed: int) -> list[FaultTarget]:
    """Pure: single-fault targets in visiting order (round-robin over seeded family order,
    families whose repair runs pip or apt in every other turn; variant-group families only
    from VARIANTS_AFTER on, one turn in three). Payload-only families have none."""
    rng = random.Random(seed)
    queues: list[tuple[bool, list[FaultTarget]]] = []  # (a chain can build on it, targets)
    variants: list[list[FaultTarget]] = []
    for fam in sorted(fams, key=lambda f: f.name):
        if fam.payload_only:  # takes no part in the seeded order, as a family with no target
            continue
        targets = [t for t in ctx.stamped(fam.targets(ctx)) if t.predicted_tests]
        if not targets:  # a family that does not apply here leaves the order of the rest alone
            continue
        rng.shuffle(targets)
        # distinct predicted sets first: near-duplicates only after every distinct one
        seen: set[frozenset[str]] = set()
        firsts: list[FaultTarget] = []
        rest: list[FaultTarget] = []
        for t in targets:
            key = frozenset(t.predicted_tests)
            (rest if key in seen else firsts).append(t)
            seen.add(key)
        if fam.variant_group is not None:
            variants.append(firsts + rest)
            continue
        payload = bool(targets) and bool(repair_tools(fam.solution(targets[0])))
        queues.append((payload, firsts + rest))
    rng.shuffle(queues)
    rng.shuffle(variants)
    # a chain needs an accepted fault whose repair runs a tool: such families take every other
    # turn, so one turns up early however small the budget
    payloads = [q for payload, q in queues if payload]
    others = [q for payload, q in queues if not payload and q]
    order_of_turns = [q for pair in zip_longest(payloads, others) for q in pair if q is not None]
    order = _round_robin(order_of_turns)
    # a variant is a sure task but the same lesson in every repository: it waits until the
    # other families had their first turns, so it is tried where they found little
    late = _round_robin(variants)
    out = order[:VARIANTS_AFTER]
    rest = order[VARIANTS_AFTER:]
    while rest or late:
        out += rest[:2] + late[:1]
        rest, late = rest[2:], late[1:]
    return out


def _payload_only_targets(ctx: FaultContext, fams: dict[str, FaultFamily]) -> list[FaultTarget]:
    """Targets of the families that only ride as a chain's payload (never tried alone)."""
    return [
        t
        for fam in sorted(fams.values(), key=lambda f: f.name)
        if fam.payload_only
        for t in ctx.stamped(fam.targets(ctx))
        if t.predicted_tests
    ]


def _round_robin(queues: Sequence[list[FaultTarget]]) -> list[FaultTarget]:
    order: list[FaultTarget] = []
    pending = [list(q) for q in queues]
    while any(pending):
        for queue in pending:
            if queue:
                order.append(queue.pop(0))
    return order


def plan_selection(
    stable: Sequence[str], predicted: Sequence[str], seed: int, run_sec: float = 0.0
) -> list[str] | None:
    """Pure: which tests an attempt runs (None = the whole suite). A large or slow suite runs
    the predicted tests plus a sample of the others; only an attempt that fails something
    then runs the whole suite to confirm (see _attempt), so a fault that breaks nothing, half
    of all attempts, costs a fraction of a slow suite's run."""
    if len(stable) <= FULL_RUN_LIMIT and run_sec <= SLOW_RUN_SEC:
        return None
    rng = random.Random(seed)
    others = sorted(set(stable) - set(predicted))
    chosen = sorted(set(predicted) | set(rng.sample(others, min(SAMPLE_OTHERS, len(others)))))
    if len(chosen) > FULL_RUN_LIMIT or len(chosen) >= len(stable):
        return None
    return chosen


@dataclass
class _SearchState:
    accepted: list[Candidate] = field(default_factory=list)
    used_keys: set[tuple[str, frozenset[str]]] = field(default_factory=set)
    inert: set[ResourceKey] = field(default_factory=set)
    singles_per_group: dict[str, int] = field(default_factory=dict)
    chains_per_resource: dict[str, int] = field(default_factory=dict)  # accepted, see _aimed
    chains_per_payload: dict[str, int] = field(default_factory=dict)  # accepted, see _payload_key
    single_resources: set[tuple[str, ResourceKey]] = field(default_factory=set)  # accepted
    dead_payloads: set[str] = field(default_factory=set)  # a chain on them was rejected
    family_tasks: dict[str, int] = field(default_factory=dict)  # accepted, as single or payload
    repaired: set[tuple[str, ...]] = field(default_factory=set)  # accepted singles' repairs
    multi_uses: dict[str, int] = field(default_factory=dict)  # fault -> multi-fault attempts
    blocker_uses: dict[str, int] = field(default_factory=dict)  # blocker family -> chains
    symptoms: dict[str, str] = field(default_factory=dict)  # candidate_key -> candidate id
    composed: set[frozenset[str]] = field(default_factory=set)  # compositions tried, as sets


@dataclass
class SinglePicker:
    """Pure: the next single-fault target, learning from outcomes as the search goes.

    A resource whose fault broke no test is inert for these tests: it was loaded or read but
    has a fallback (libcrypto under hashlib, a C speed-up with a pure-Python twin) or is not
    really used (SSL_CERT_FILE without a TLS handshake). Its other targets, from other
    families, wait until every untried resource has had its turn.

    A fault whose repair is that of an accepted single (the same library damaged another way)
    is the same lesson again: it comes last, and serves as a chain's payload instead.

    Crowded targets wait behind all of these: those of a family that has FAMILY_CAP tasks in
    this gold env already (in the default corpus one repository gave four tasks of
    extension-module-removed, one module after another), and variants once the gold env has
    VARIANTS_WHILE_FEWER tasks (a variant is a sure task, but the same lesson in every
    repository: it is for the gold envs where the other families found little).
    """

    order: list[FaultTarget]
    deferred: list[FaultTarget] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)  # family -> its variant group
    repair_of: Callable[[FaultTarget], tuple[str, ...]] | None = None
    siblings: list[FaultTarget] = field(default_factory=list)
    crowded: list[FaultTarget] = field(default_factory=list)

    def next(self, state: _SearchState) -> FaultTarget | None:
        while self.order:
            target = self.order.pop(0)
            if (target.family, frozenset(target.predicted_tests)) in state.used_keys:
                continue
            if (target.family, target.resource) in state.single_resources:
                continue  # the same fault on the same file again, for other tests
            if self._capped(state, target):
                continue
            if self._crowded(state, target):
                self.crowded.append(target)
                continue
            if self._sibling(state, target):
                self.siblings.append(target)
                continue
            if target.resource in state.inert:
                self.deferred.append(target)
                continue
            return target
        for waiting in (self.deferred, self.siblings, self.crowded):
            while waiting:
                target = waiting.pop(0)
                key = (target.family, frozenset(target.predicted_tests))
                again = (target.family, target.resource) in state.single_resources
                if key in state.used_keys or again or self._capped(state, target):
                    continue
                if waiting is not self.crowded and self._crowded(state, target):
                    self.crowded.append(target)  # its family filled up while it waited
                    continue
                return target
        return None

    def _sibling(self, state: _SearchState, target: FaultTarget) -> bool:
        return self.repair_of is not None and self.repair_of(target) in state.repaired

    def _crowded(self, state: _SearchState, target: FaultTarget) -> bool:
        if target.family in self.groups and len(state.accepted) >= VARIANTS_WHILE_FEWER:
            return True
        return state.family_tasks.get(target.family, 0) >= FAMILY_CAP

    def _capped(self, state: _SearchState, target: FaultTarget) -> bool:
        group = self.groups.get(target.family)
        return group is not None and state.singles_per_group.get(group, 0) >= VARIANT_GROUP_CAP

    def record(self, state: _SearchState, target: FaultTarget, attempt: Attempt) -> None:
        if attempt.rejection is RejectionReason.NO_FAILURE:
            state.inert.add(target.resource)


def _compositions(
    state: _SearchState, fams: dict[str, FaultFamily], rng: random.Random, max_faults: int
) -> Iterator[tuple[FaultTarget, ...]]:
    singles = [c for c in state.accepted if len(c.faults) == 1 and not _variant(fams, c)]
    if len(singles) >= 2:
        # faults joined least so far go first, so one fault does not run through every task
        uses = state.multi_uses
        least = sorted(uses.get(_payload_key(c.faults), 0) for c in singles)[1]
        singles = [c for c in singles if uses.get(_payload_key(c.faults), 0) <= least]
    largest = max(2, min(max_faults, len(singles)))
    for turn in range(20):
        if len(singles) < 2:
            return
        # the largest first: each part is one more ordered repair step
        size = largest if turn < 10 else rng.randint(2, largest)
        picks = rng.sample(singles, min(size, len(singles)))
        if _composition_key(tuple(c.faults[0] for c in picks)) in state.composed:
            continue  # the same faults in another order: the same task
        cats = [fams[c.families[0]].category for c in picks]
        if len(set(cats)) == len(cats) and every_part_shows(picks):
            yield tuple(c.faults[0] for c in picks)


def plan_blockers(ctx: FaultContext, fams: Sequence[FaultFamily]) -> dict[str, list[FaultTarget]]:
    """Pure: blocker targets per repair tool they break (`pip`, `apt`)."""
    out: dict[str, list[FaultTarget]] = {}
    for fam in sorted(fams, key=lambda f: f.name):
        if fam.blocks:
            out.setdefault(fam.blocks, []).extend(ctx.stamped(fam.blocker_targets(ctx)))
    return out


def _variant(fams: dict[str, FaultFamily], cand: Candidate) -> bool:
    """A candidate with a fault of a variant group: more tasks on it add no lesson."""
    return any(fams[f].variant_group is not None for f in cand.families if f in fams)


def _chains(
    state: _SearchState,
    fams: dict[str, FaultFamily],
    blockers: dict[str, list[FaultTarget]],
    rng: random.Random,
    siblings: Sequence[FaultTarget] = (),
) -> Iterator[tuple[FaultTarget, ...]]:
    """Payloads (see chain_payloads), each joined by CHAIN_BLOCKERS faults that break the tool
    its repair runs: the payload's steps come first (they may need the tool), the blockers
    last."""
    # a payload that carried its chain carries another only when no other payload is left:
    # a chain whose payload is used takes another blocker pair rather than giving up its turn
    payloads = chain_payloads(state, fams, blockers, siblings) or chain_payloads(
        state, fams, blockers, siblings, per_payload=CHAINS_PER_RESOURCE
    )
    if payloads:
        # payload families with the fewest tasks in this gold env first, then faults chained
        # least: so one damaged library does not carry every chain
        def rank(option: tuple[tuple[FaultTarget, ...], str]) -> tuple[int, int]:
            faults = option[0]
            uses = max(state.family_tasks.get(f.family, 0) for f in faults)
            return uses, state.multi_uses.get(_payload_key(faults), 0)

        best = min(rank(o) for o in payloads)
        payloads = [o for o in payloads if rank(o) == best]
    for _ in range(20):
        if not payloads:
            return
        faults, tool = rng.choice(payloads)
        aimed = {f.resource for f in faults}
        names = {f.family for f in faults}
        pool = [b for b in blockers[tool] if _joins(fams[b.family], b, aimed, names)]
        if not pool:
            continue
        # blockers of the families joined least so far, so no broken tool runs through every
        # chain; ties at random
        rng.shuffle(pool)
        pool.sort(key=lambda t: state.blocker_uses.get(t.family, 0))
        picks = _distinct_families(pool, rng.choice(CHAIN_BLOCKERS))
        yield (*faults, *sorted(picks, key=lambda t: t.family))


def chain_payloads(
    state: _SearchState,
    fams: dict[str, FaultFamily],
    blockers: dict[str, list[FaultTarget]],
    siblings: Sequence[FaultTarget] = (),
    per_payload: int = CHAINS_PER_PAYLOAD,
) -> list[tuple[tuple[FaultTarget, ...], str]]:
    """Pure: (payload faults, the tool their repair runs) a chain can build on.

    An accepted fault whose repair runs a tool some blocker breaks, and each of its siblings:
    a fault of `siblings` that stands in for it (`_stands_in`: lib-other-cpu on the library an
    accepted lib-truncated cut short; not another library of the same package, which the
    tests may never load). The accepted fault proves that the resource matters to the tests;
    the sibling teaches the repair behind another symptom. None whose chain was rejected,
    none on a resource CHAINS_PER_RESOURCE chains aim at already, none that carried
    `per_payload` chains."""
    out: dict[tuple[str, str], tuple[tuple[FaultTarget, ...], str]] = {}
    for cand in state.accepted:
        if any(is_blocker(f) for f in cand.faults) or _variant(fams, cand):
            continue
        tools = [t for t in sorted(repair_tools(cand.solution)) if blockers.get(t)]
        if not tools:
            continue
        if state.chains_per_resource.get(_aimed(cand.faults), 0) >= CHAINS_PER_RESOURCE:
            continue
        related = [cand.faults]
        if len(cand.faults) == 1:
            related += [(t,) for t in siblings if _stands_in(fams, t, cand.faults[0])]
        for faults in related:
            key = _payload_key(faults)
            if key in state.dead_payloads:
                continue
            if state.chains_per_payload.get(key, 0) >= per_payload:
                continue
            for tool in tools:
                out.setdefault((key, tool), (faults, tool))
    return list(out.values())


def _stands_in(fams: dict[str, FaultFamily], sibling: FaultTarget, accepted: FaultTarget) -> bool:
    """Whether `sibling` breaks the tests `accepted` broke, by what they share: the resource,
    the repair, and a damage no caller survives when the accepted fault's was one (an
    interpreter killed by a truncated libcrypto is not one that fell back to its own hashes)."""
    return (
        sibling.family != accepted.family
        and sibling.resource == accepted.resource
        and _repair(fams, (sibling,)) == _repair(fams, (accepted,))
        and (fams[sibling.family].kills_loader or not fams[accepted.family].kills_loader)
    )


def _aimed(faults: Sequence[FaultTarget]) -> str:
    """The resources a payload aims at, as one key (its blockers left out)."""
    return "+".join(sorted(str(f.resource) for f in faults if not is_blocker(f)))


def _repair(fams: dict[str, FaultFamily], faults: Sequence[FaultTarget]) -> tuple[str, ...]:
    return tuple(step for f in faults for step in fams[f.family].solution(f))


def _distinct_families(pool: Sequence[FaultTarget], count: int) -> list[FaultTarget]:
    """The first `count` targets of `pool` that break a tool each in their own way."""
    picks: list[FaultTarget] = []
    for target in pool:
        if len(picks) < count and all(p.family != target.family for p in picks):
            picks.append(target)
    return picks


def _joins(
    blocker: FaultFamily, target: FaultTarget, resources: set[ResourceKey], names: set[str]
) -> bool:
    """Whether a blocker target can stand in the way of a payload's repair."""
    if blocker.aims_at_payload and target.resource not in resources:
        return False
    return not blocker.joins_families or bool(blocker.joins_families & names)


def _payload_key(faults: Sequence[FaultTarget]) -> str:
    return "+".join(f"{f.family}@{f.resource}" for f in faults if not is_blocker(f))


def _composition_key(faults: Sequence[FaultTarget]) -> frozenset[str]:
    return frozenset(_payload_key((f,)) for f in faults)


def every_part_shows(parts: Sequence[Candidate]) -> bool:
    """Pure: each part fails some test that the others leave passing.

    Otherwise one fault masks another (tmp-not-writable fails every test a stale module would),
    the composition fails exactly like a task already found, and verification drops it as a
    duplicate: in the default corpus, 40 of 50 compositions went that way.
    """
    for i, part in enumerate(parts):
        others = {t for j, other in enumerate(parts) if j != i for t in other.failing}
        if not set(part.failing) - others:
            return False
    return True


def run_search(
    gold: GoldEnv,
    ctx: FaultContext,
    settings: Settings,
    runtime: Runtime,
    catalog: Catalog,
    *,
    budget: int,
    seed: int = 0,
    max_faults: int = 3,
    reporter: Reporter = NULL_REPORTER,
) -> InvertReport:
    """Try up to `budget` candidates; resumes from the catalog (same seed, same attempts)."""
    fams = {f.name: f for f in families()}
    # the gold env is part of the seed: with one seed for all, every repository of a corpus
    # visited the families in much the same order and joined the same blockers first
    own_seed = int(content_id("search", seed, gold.id), 16)
    singles = plan_singles(ctx, list(fams.values()), own_seed)
    blockers = plan_blockers(ctx, list(fams.values()))
    rng = random.Random(own_seed + 1)
    state = _SearchState()
    attempts: list[Attempt] = []
    tried: set[str] = set()
    groups = {f.name: f.variant_group for f in fams.values() if f.variant_group is not None}
    picker = SinglePicker(
        list(singles), groups=groups, repair_of=lambda t: _repair(fams, (t,))
    )
    # faults a chain may carry without a single of their own: those of families a chain builds on
    siblings = [
        t
        for t in [*singles, *_payload_only_targets(ctx, fams)]
        if fams[t.family].variant_group is None
        and fams[t.family].sibling_payload
        and not is_blocker(t)
        and repair_tools(fams[t.family].solution(t))
    ]
    for index in range(budget):
        faults: tuple[FaultTarget, ...] | None = None
        if index % COMPOSE_EVERY in CHAIN_AT and max_faults > 1:
            chains = _chains(state, fams, blockers, rng, siblings)
            faults = next((c for c in chains if _steps_id(gold, fams, c) not in tried), None)
        if index % COMPOSE_EVERY == COMPOSE_EVERY - 1 and max_faults > 1:
            faults = next(
                (
                    c
                    for c in _compositions(state, fams, rng, max_faults)
                    if _steps_id(gold, fams, c) not in tried
                ),
                None,
            )
            if faults is None:  # no two faults show side by side: a chain teaches more
                chains = _chains(state, fams, blockers, rng, siblings)
                faults = next((c for c in chains if _steps_id(gold, fams, c) not in tried), None)
        if faults is None:
            single = picker.next(state)
            faults = (single,) if single is not None else None
        if faults is None:
            break
        key = _steps_id(gold, fams, faults)
        tried.add(key)
        chain = any(is_blocker(f) for f in faults)
        if chain:
            for fault in filter(is_blocker, faults):
                uses = state.blocker_uses
                uses[fault.family] = uses.get(fault.family, 0) + 1
        if len(faults) > 1 and not chain:
            state.composed.add(_composition_key(faults))
        if len(faults) > 1:
            for fault in faults:
                one = _payload_key((fault,))
                state.multi_uses[one] = state.multi_uses.get(one, 0) + 1
        attempt, candidate = _attempt(
            gold, fams, faults, settings, runtime, catalog, seed, index, key, state.symptoms
        )
        attempts.append(attempt)
        if len(faults) == 1:
            picker.record(state, faults[0], attempt)
        label = "+".join(f.family for f in faults)
        verdict = "accepted" if attempt.accepted else f"rejected ({attempt.reason})"
        reporter.stage("invert", f"[{index + 1}/{budget}] {label} {faults[0].resource}: {verdict}")
        reporter.progress("invert", index + 1, budget, label)
        if chain:
            payload = [f for f in faults if not is_blocker(f)]
            if candidate is None:
                state.dead_payloads.add(_payload_key(faults))
            else:
                aimed = _aimed(payload)
                state.chains_per_resource[aimed] = state.chains_per_resource.get(aimed, 0) + 1
                key = _payload_key(payload)
                state.chains_per_payload[key] = state.chains_per_payload.get(key, 0) + 1
                for name in {f.family for f in payload}:
                    state.family_tasks[name] = state.family_tasks.get(name, 0) + 1
        if candidate is not None:
            state.accepted.append(candidate)
            state.symptoms.setdefault(candidate_key(gold, candidate), candidate.id)
            if len(faults) == 1:
                state.repaired.add(_repair(fams, faults))
                state.family_tasks[faults[0].family] = (
                    state.family_tasks.get(faults[0].family, 0) + 1
                )
                state.used_keys.add((faults[0].family, frozenset(faults[0].predicted_tests)))
                state.single_resources.add((faults[0].family, faults[0].resource))
                group = groups.get(faults[0].family)
                if group is not None:
                    state.singles_per_group[group] = state.singles_per_group.get(group, 0) + 1
    return InvertReport(tuple(attempts), tuple(state.accepted))


def _steps_id(gold: GoldEnv, fams: dict[str, FaultFamily], faults: Sequence[FaultTarget]) -> str:
    steps = [s for f in faults for s in fams[f.family].steps(f)]
    return content_id("candidate", gold.id, steps)


def _attempt(
    gold: GoldEnv,
    fams: dict[str, FaultFamily],
    faults: tuple[FaultTarget, ...],
    settings: Settings,
    runtime: Runtime,
    catalog: Catalog,
    seed: int,
    index: int,
    candidate_id: str,
    symptoms: Mapping[str, str],
) -> tuple[Attempt, Candidate | None]:
    """One attempt, stored; an accepted one whose failing tests and errors are an earlier
    candidate's of this search (`symptoms`) is rejected as that task again: verification would
    drop it as a duplicate after its longest checks (in the default corpus, 7 attempts, all of
    them dropped so, one of them after 134 s)."""
    attempt_id = content_id("attempt", candidate_id, seed, index)
    previous = catalog.get_attempt(attempt_id)
    if previous is not None:
        cand = catalog.get_candidate(previous.candidate_id) if previous.candidate_id else None
        return previous, cand
    steps = tuple(s for f in faults for s in fams[f.family].steps(f))
    predicted = sorted({t for f in faults for t in f.predicted_tests})
    selection = plan_selection(
        gold.stability.stable_passing, predicted, seed + index, gold.run_sec
    )
    started = time.monotonic()
    timeout = suite_timeout_sec(gold, settings)
    solution = ordered_solution(faults)
    network = any(fams[f.family].needs_network for f in faults) or steps_need_network(solution)
    outcome = run_attempt(
        runtime,
        gold,
        steps,
        timeout_sec=timeout,
        select=selection,
        network=network and steps_need_network(steps),
    )
    if outcome.applied and outcome.failing and selection is not None:
        outcome = run_attempt(
            runtime,
            gold,
            steps,
            timeout_sec=timeout,
            network=network and steps_need_network(steps),
        )
    reason, rejection = "ok", None
    if not outcome.applied:
        reason = "steps failed: " + last_line(outcome.output_tail)
        rejection = RejectionReason.STEPS_FAILED
    elif outcome.timed_out:
        reason = f"tests did not finish within {timeout} s"
        rejection = RejectionReason.TESTS_TIMED_OUT
    elif not outcome.failing:
        reason, rejection = NO_FAILURE, RejectionReason.NO_FAILURE
    candidate = None
    now = datetime.now(UTC)
    if rejection is None:
        candidate = Candidate(
            id=candidate_id,
            gold_id=gold.id,
            faults=faults,
            families=tuple(f.family for f in faults),
            categories=tuple(fams[f.family].category for f in faults),
            steps=steps,
            solution=solution,
            needs_network=network,
            failing=outcome.failing,
            errors=outcome.errors,
            created_at=now,
        )
        twin = symptoms.get(candidate_key(gold, candidate))
        if twin is not None:
            reason = f"same failing tests and errors as candidate {twin}"
            rejection, candidate = RejectionReason.DUPLICATE, None
    attempt = Attempt(
        id=attempt_id,
        gold_id=gold.id,
        run_id=runtime.run_id,
        seed=seed,
        index=index,
        families=tuple(f.family for f in faults),
        resources=tuple(f.resource for f in faults),
        accepted=candidate is not None,
        reason=reason,
        rejection=rejection,
        failing_count=len(outcome.failing),
        candidate_id=candidate.id if candidate else None,
        duration_sec=round(time.monotonic() - started, 3),
        created_at=now,
    )
    catalog.put_attempt(attempt, candidate)
    return attempt, candidate


def steps_need_network(steps: Sequence[str]) -> bool:
    """Only steps that install something need the network (most never do)."""
    return any(" install " in s or "apt-get" in s for s in steps)
