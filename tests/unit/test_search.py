"""The procedural search through FakeRuntime: the container each attempt starts, and what the
search decides from its answer (accept, reject with a kind, defer an inert resource, resume)."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.dedupe import candidate_key
from cligym.faults.base import FaultContext
from cligym.faults.registry import (
    families,
    family,
    is_blocker,
    ordered_solution,
    payload_solution,
    repair_tools,
)
from cligym.invert import search
from cligym.invert.search import NO_FAILURE, plan_singles, run_search
from cligym.records import Candidate, FaultTarget, RejectionReason
from cligym.runtime.fake import FakeRuntime, Reply
from tests.unit.fault_fixtures import context
from tests.unit.runtime_script import PYTEST, attempt_script, is_pytest, pytest_reply


@pytest.fixture
def ctx() -> FaultContext:
    return context()


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(workdir=tmp_path / "work")


def _first_offline_target(ctx: FaultContext, narrow: bool = False) -> FaultTarget:
    """The first planned target that needs no network (and, if `narrow`, does not predict
    every stable test to fail)."""
    fams = {f.name: f for f in families()}
    stable = ctx.gold.stability.stable_passing
    return next(
        t
        for t in plan_singles(ctx, list(fams.values()), 0)
        if not fams[t.family].needs_network
        and not search.steps_need_network(fams[t.family].solution(t))
        and (not narrow or len(t.predicted_tests) < len(stable))
    )


def _attempt(ctx, settings, fake, catalog, target, index=0, symptoms=None):
    fams = {f.name: f for f in families()}
    key = search._steps_id(ctx.gold, fams, (target,))
    return search._attempt(
        ctx.gold, fams, (target,), settings, fake, catalog, 0, index, key, symptoms or {}
    )


def test_a_fault_that_fails_a_stable_test_becomes_a_candidate(ctx, settings, catalog):
    target = _first_offline_target(ctx)
    fam = {f.name: f for f in families()}[target.family]
    broken = target.predicted_tests[0]
    fake = FakeRuntime()
    fake.on("run", pytest_reply({broken: "E   boom"}, tests=ctx.gold.stability.stable_passing))

    attempt, candidate = _attempt(ctx, settings, fake, catalog, target)

    (call,) = fake.calls
    assert call.image == ctx.gold.image_tag and call.user == "root" and not call.network
    assert call.script == attempt_script(fam.steps(target))
    assert call.timeout_sec == 60  # 10x the gold run, at least a minute
    assert attempt.accepted and attempt.rejection is None and attempt.reason == "ok"
    assert candidate is not None and attempt.candidate_id == candidate.id
    assert candidate.steps == tuple(fam.steps(target))
    assert candidate.solution == tuple(fam.solution(target))
    assert candidate.failing == (broken,) and candidate.errors == {broken: "E   boom"}
    assert (candidate.families, candidate.categories) == ((fam.name,), (fam.category,))
    assert catalog.get_attempt(attempt.id) == attempt
    assert catalog.get_candidate(candidate.id) == candidate

    again = _attempt(ctx, settings, fake, catalog, target)  # resumed from the catalog
    assert again == (attempt, candidate) and len(fake.calls) == 1


@pytest.mark.parametrize(
    ("reply", "kind", "reason"),
    [
        (Reply(), RejectionReason.NO_FAILURE, NO_FAILURE),
        (
            Reply(exit_code=1, output="+ chmod\nchmod: cannot access '/x': No such file"),
            RejectionReason.STEPS_FAILED,
            "steps failed: chmod: cannot access '/x': No such file",
        ),
        (
            Reply(exit_code=124, timed_out=True, output="=== cligym: steps applied ==="),
            RejectionReason.TESTS_TIMED_OUT,
            "tests did not finish within 60 s",
        ),
    ],
)
def test_rejected_attempts_carry_their_kind(ctx, settings, catalog, reply, kind, reason):
    target = _first_offline_target(ctx)
    fake = FakeRuntime()
    if reply == Reply():  # the tests ran and every one passed
        reply = pytest_reply({}, tests=ctx.gold.stability.stable_passing)
    fake.on("run", reply)
    attempt, candidate = _attempt(ctx, settings, fake, catalog, target)
    assert candidate is None and not attempt.accepted
    assert attempt.rejection is kind and attempt.reason == reason
    assert catalog.get_attempt(attempt.id) == attempt


def test_an_attempt_with_an_earlier_candidates_symptoms_is_that_task_again(
    ctx, settings, catalog
):
    """Another fault that fails the same tests with the same errors (a locked package
    directory after a shadowed one) is rejected in the search: verification would drop it as
    a duplicate, after its longest checks. Other errors are another task."""
    fams = {f.name: f for f in families()}
    first, second = [
        t for t in plan_singles(ctx, list(fams.values()), 0)
        if not fams[t.family].needs_network
        and not search.steps_need_network(fams[t.family].solution(t))
    ][:2]
    broken = ctx.gold.stability.stable_passing[0]
    fake = FakeRuntime()
    fake.on("run", pytest_reply({broken: "E   ImportError: boom at 0x7f00"},
                                tests=ctx.gold.stability.stable_passing), times=1)
    _, earlier = _attempt(ctx, settings, fake, catalog, first)
    assert earlier is not None
    symptoms = {candidate_key(ctx.gold, earlier): earlier.id}

    fake.on("run", pytest_reply({broken: "E   ImportError: boom at 0x7f99"},
                                tests=ctx.gold.stability.stable_passing), times=1)
    attempt, candidate = _attempt(ctx, settings, fake, catalog, second, 1, symptoms)
    assert candidate is None and not attempt.accepted and attempt.candidate_id is None
    assert attempt.rejection is RejectionReason.DUPLICATE
    assert attempt.reason == f"same failing tests and errors as candidate {earlier.id}"
    assert catalog.get_attempt(attempt.id) == attempt and attempt.failing_count == 1

    fake.on("run", pytest_reply({broken: "E   PermissionError: denied"},
                                tests=ctx.gold.stability.stable_passing), times=1)
    _, other = _attempt(ctx, settings, fake, catalog, second, 2, symptoms)
    assert other is not None  # another error: another task


def test_the_search_keeps_one_candidate_per_symptom(ctx, settings, catalog):
    """Every fault fails the same test with the same error: one single is accepted, the
    other singles are its duplicates; chains break other tools, so they are other tasks."""
    broken = ctx.gold.stability.stable_passing[0]
    fake = FakeRuntime()
    fake.on("run", pytest_reply({broken: "E   boom"}, tests=ctx.gold.stability.stable_passing))
    report = run_search(ctx.gold, ctx, settings, fake, catalog, budget=12, max_faults=2)
    singles = [c for c in report.candidates if len(c.faults) == 1]
    assert len(singles) == 1
    keys = [candidate_key(ctx.gold, c) for c in report.candidates]
    assert len(keys) == len(set(keys))
    assert any(a.rejection is RejectionReason.DUPLICATE for a in report.attempts)


def test_a_large_suite_runs_a_selection_then_the_whole_suite_to_confirm(
    ctx, settings, catalog, monkeypatch
):
    target = _first_offline_target(ctx, narrow=True)
    fam = {f.name: f for f in families()}[target.family]
    stable = ctx.gold.stability.stable_passing
    monkeypatch.setattr(search, "FULL_RUN_LIMIT", len(target.predicted_tests))
    monkeypatch.setattr(search, "SAMPLE_OTHERS", 0)
    broken = target.predicted_tests[0]
    fake = FakeRuntime()
    fake.on("run", pytest_reply({broken: "E   boom"}, tests=target.predicted_tests), times=1)
    fake.on("run", pytest_reply({broken: "E   boom"}, tests=stable))

    attempt, candidate = _attempt(ctx, settings, fake, catalog, target)

    first, second = fake.calls
    selection = " ".join(sorted(target.predicted_tests))
    assert first.script == attempt_script(fam.steps(target), f"{PYTEST} {selection}")
    assert second.script == attempt_script(fam.steps(target))
    assert attempt.accepted and candidate is not None and candidate.failing == (broken,)


def test_the_search_defers_resources_whose_fault_broke_nothing(ctx, settings, catalog):
    """Every attempt passes: each resource is tried once before any is tried again."""
    fake = FakeRuntime()
    fake.on("run", pytest_reply({}, tests=ctx.gold.stability.stable_passing))
    report = run_search(ctx.gold, ctx, settings, fake, catalog, budget=8, max_faults=1)

    assert len(report.attempts) == 8 and report.candidates == ()
    assert all(a.rejection is RejectionReason.NO_FAILURE for a in report.attempts)
    resources = [a.resources[0] for a in report.attempts]
    untried = {t.resource for t in plan_singles(ctx, families(), 0)}
    assert len(set(resources)) == min(8, len(untried))  # no resource twice while others wait
    assert [c.image for c in fake.calls] == [ctx.gold.image_tag] * 8
    assert all(is_pytest(c) and c.user == "root" for c in fake.calls)


def test_the_search_composes_accepted_faults_of_different_categories(ctx, settings, catalog):
    """Every single fault fails its first predicted test: after two singles, one attempt in
    COMPOSE_EVERY applies the steps of several accepted faults in one container."""
    fams = {f.name: f for f in families()}
    fake = _each_single_fails_its_first_prediction(ctx)
    report = run_search(ctx.gold, ctx, settings, fake, catalog, budget=16, max_faults=2)
    composed = [
        a for a in report.attempts if len(a.families) == 2 and not fams[a.families[1]].blocks
    ]
    singles = [c for c in report.candidates if len(c.faults) == 1]
    assert len(singles) >= 2 and composed
    for attempt in composed:
        assert len({fams[f].category for f in attempt.families}) == 2
    for candidate in (c for c in report.candidates if len(c.faults) == 2):
        parts = [fams[f.family].steps(f) for f in candidate.faults]
        assert candidate.steps == tuple(s for p in parts for s in p)


def _each_single_fails_its_first_prediction(ctx):
    """A FakeRuntime on which every planned single and every payload-only target fails its
    first predicted test, alone or together with others (blockers fail nothing)."""
    fams = {f.name: f for f in families()}
    stable = ctx.gold.stability.stable_passing
    faults = [*plan_singles(ctx, list(fams.values()), 0), *search._payload_only_targets(ctx, fams)]

    def answer(call):
        failed = {}
        for target in faults:
            steps = fams[target.family].steps(target)
            if steps and all(f"( {s} )" in call.script for s in steps):
                failed[target.predicted_tests[0]] = f"E   {target.family}"
        return pytest_reply(failed, tests=stable)

    fake = FakeRuntime()
    fake.on("run", answer)
    return fake


def test_the_search_builds_repair_chains_on_purpose(ctx, settings, catalog):
    """A fault whose repair runs pip or apt is joined by blockers that break that very tool:
    its steps first, theirs last, and their repairs first in the solution."""
    fams = {f.name: f for f in families()}
    fake = _each_single_fails_its_first_prediction(ctx)
    report = run_search(ctx.gold, ctx, settings, fake, catalog, budget=24, max_faults=2)
    chains = [c for c in report.candidates if any(is_blocker(f) for f in c.faults)]
    assert chains, [a.families for a in report.attempts]
    # payloads chained least so far go first: chains spread over several payloads, and no
    # resource is aimed at by more than CHAINS_PER_RESOURCE of them
    per_payload = Counter(tuple(f for f in c.faults if not is_blocker(f)) for c in chains)
    assert len(per_payload) > 1
    per_resource = Counter(
        tuple(f.resource for f in c.faults if not is_blocker(f)) for c in chains
    )
    assert max(per_resource.values()) <= search.CHAINS_PER_RESOURCE
    for chain in chains:
        payload = [f for f in chain.faults if not is_blocker(f)]
        blockers = [f for f in chain.faults if is_blocker(f)]
        assert payload and chain.faults[: len(payload)] == tuple(payload)
        tools = repair_tools(payload_solution(payload))
        assert all(fams[b.family].blocks in tools for b in blockers)
        assert all(
            b.resource in {p.resource for p in payload}
            for b in blockers
            if fams[b.family].aims_at_payload
        )
        assert all(
            fams[b.family].joins_families & {p.family for p in payload}
            for b in blockers
            if fams[b.family].joins_families
        )
        assert len({b.family for b in blockers}) == len(blockers)  # each its own way
        fixes = ordered_solution(blockers)
        assert sorted(fixes) == sorted(s for b in blockers for s in fams[b.family].solution(b))
        assert chain.solution == (*fixes, *payload_solution(payload))


def test_a_damaged_library_carries_its_chains_as_other_families(ctx, settings, catalog):
    """Only faults on one library fail tests. Its first accepted single proves the library
    matters; the same library damaged another way (another family, the same repair) is no new
    single but the payload of the chains, so one family does not carry them all. Another
    library of the same package is no sibling: the tests may never load it."""
    fams = {f.name: f for f in families()}
    lib = next(  # libsqlite3: a library whose package the fixture knows
        t for t in family("lib-truncated").targets(ctx)
        if repair_tools(family("lib-truncated").solution(t))
    )
    repair = tuple(family("lib-truncated").solution(lib))
    path = lib.resource.name
    same_repair = {
        t.family
        for t in plan_singles(ctx, list(fams.values()), 0)
        if tuple(fams[t.family].solution(t)) == repair
    }
    assert {"lib-truncated", "elf-header-corrupt", "lib-other-release"} <= same_repair

    def answer(call):  # each damage shows its own error, as SIGBUS and SIGILL differ
        error = "E   ImportError: " + hashlib.sha256(call.script.encode()).hexdigest()
        hit = path in call.script
        return pytest_reply({lib.predicted_tests[0]: error} if hit else {},
                            tests=ctx.gold.stability.stable_passing)

    fake = FakeRuntime()
    fake.on("run", answer)
    report = run_search(ctx.gold, ctx, settings, fake, catalog, budget=60, max_faults=2)
    on_lib = [c for c in report.candidates if payload_solution(c.faults) == repair]
    chains = [c for c in on_lib if any(is_blocker(f) for f in c.faults)]
    assert len(chains) == search.CHAINS_PER_RESOURCE, [a.families for a in report.attempts]
    assert all(c.faults[0].resource == lib.resource for c in chains)
    # the first single proves the library matters; its siblings wait behind every other
    # target (in this small fixture the search runs out of those, and then tries them)
    first = next(c for c in on_lib if len(c.faults) == 1)
    assert on_lib.index(first) < on_lib.index(chains[0])
    payload_families = [c.faults[0].family for c in chains]
    # the fewest tasks first: each chain's payload is of a family no other task here has
    assert len({first.faults[0].family, *payload_families}) == 1 + len(chains)


def _accepted(fams, fault: FaultTarget) -> Candidate:
    fam = fams[fault.family]
    return Candidate(
        id=fault.family, gold_id="g", faults=(fault,), families=(fault.family,),
        categories=(fam.category,), steps=tuple(fam.steps(fault)),
        solution=tuple(fam.solution(fault)), needs_network=True, failing=("t",),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_sibling_stands_in_only_where_it_fails_as_surely(ctx):
    """A truncated libcrypto kills the interpreter that loads it; a libcrypto with a damaged
    header or another release's symbol versions makes the load raise, and hashlib falls back
    to its own code: in the default corpus, every such sibling of an accepted lib-truncated
    broke no test. So a fault that kills the loader takes as siblings only faults that kill it
    too; a fault that raises takes both kinds."""
    fams = {f.name: f for f in families()}
    singles = plan_singles(ctx, list(fams.values()), 0)
    blockers = search.plan_blockers(ctx, list(fams.values()))
    siblings = [t for t in singles if not is_blocker(t)]

    def payload_families(accepted: FaultTarget) -> set[str]:
        state = search._SearchState(accepted=[_accepted(fams, accepted)])
        return {
            f.family
            for faults, _ in search.chain_payloads(state, fams, blockers, siblings)
            for f in faults
        } - {accepted.family}

    def on(family_name: str, resource) -> FaultTarget:
        return next(t for t in singles if t.family == family_name and t.resource == resource)

    lib = next(
        t.resource for t in singles
        if t.family == "lib-other-release" and repair_tools(fams[t.family].solution(t))
    )
    killers = {"lib-truncated", "lib-other-cpu", "lib-code-corrupt", "lib-version-needs-broken"}
    assert payload_families(on("lib-truncated", lib)) == killers - {"lib-truncated"}
    assert payload_families(on("elf-header-corrupt", lib)) == killers | {"lib-other-release"}
    assert all(fams[f].kills_loader for f in killers)
    assert not fams["elf-header-corrupt"].kills_loader


def test_chains_spread_over_the_blockers_of_a_tool(ctx, settings, catalog):
    """Blockers joined least so far go first: of the blockers any payload of a tool can take,
    no family is joined more than once beyond another, so no broken tool runs through every
    chain (each would otherwise be part of most chain tasks)."""
    fams = {f.name: f for f in families()}
    fake = _each_single_fails_its_first_prediction(ctx)
    report = run_search(ctx.gold, ctx, settings, fake, catalog, budget=48, max_faults=3)
    chains = [c for c in report.candidates if any(is_blocker(f) for f in c.faults)]
    assert len(chains) >= 12, [a.families for a in report.attempts]
    for tool in ("pip", "apt"):
        generic = {
            n for n, f in fams.items()
            if f.blocks == tool and not f.aims_at_payload and not f.joins_families
        }
        # (ca-bundle-removed is also a fault of its own: only its blocker targets count)
        uses = Counter(
            f.family for c in chains for f in c.faults if is_blocker(f) and f.family in generic
        )
        if uses:
            counts = [uses.get(n, 0) for n in generic]
            assert max(counts) - min(counts) <= 1, (tool, uses)


def test_near_identical_variants_are_capped_per_gold_env_and_never_joined(
    ctx, settings, catalog
):
    """One single of the stdlib-module group per gold env, however many modules the fixture
    offers, and no chain or composition built on it."""
    fams = {f.name: f for f in families()}
    group = {n for n, f in fams.items() if f.variant_group == "stdlib-module"}
    assert {"stale-bytecode", "stdlib-module-truncated", "pythonpath-shadow", "codec-broken"} <= (
        group
    )
    available = Counter(t.family for t in plan_singles(ctx, list(fams.values()), 0))
    assert sum(available[n] for n in group) > search.VARIANT_GROUP_CAP + 3
    fake = _each_single_fails_its_first_prediction(ctx)
    report = run_search(ctx.gold, ctx, settings, fake, catalog, budget=80, max_faults=3)
    singles = Counter(c.faults[0].family for c in report.candidates if len(c.faults) == 1)
    assert sum(singles[n] for n in group) == search.VARIANT_GROUP_CAP
    assert not [c.families for c in report.candidates if len(c.faults) > 1 and group & set(
        c.families)]


def test_a_chain_repairs_broken_tools_first():
    ctx = context()
    payload = family("dist-downgraded").targets(ctx)[0]
    (ca,) = family("ca-bundle-removed").blocker_targets(ctx)
    (index,) = family("pip-index-unreachable").blocker_targets(ctx)
    assert is_blocker(ca) and not is_blocker(family("ca-bundle-removed").targets(ctx)[0])
    solution = ordered_solution((payload, ca, index))
    assert solution == (
        *family("ca-bundle-removed").solution(ca),
        *family("pip-index-unreachable").solution(index),
        *family("dist-downgraded").solution(payload),
    )
    alone = tuple(family("dist-downgraded").solution(payload))
    assert payload_solution((payload, ca, index)) == alone
    assert repair_tools(solution) == {"pip"}
    # fetching apt's keys runs apt itself: it waits until dpkg and the sources are mended
    keys, dpkg, cdrom = (
        family(n).blocker_targets(ctx)[0]
        for n in ("apt-keyring-removed", "dpkg-interrupted", "apt-cdrom-source-left")
    )
    apt_fixes = ordered_solution((keys, cdrom, dpkg))
    assert apt_fixes[-1] == family("apt-keyring-removed").solution(keys)[0]
    assert set(apt_fixes[:2]) == {"dpkg --configure -a", *family(cdrom.family).solution(cdrom)}
    assert repair_tools(["apt-get update -qq && apt-get install -y x"]) == {"apt"}
    assert repair_tools(["rm -f /usr/local/bin/python3"]) == set()


def test_families_a_chain_builds_on_take_every_other_turn(ctx):
    """A chain needs an accepted fault whose repair runs pip or apt: with a budget of a few
    singles per gold env, such a fault must come up early, so those families alternate with
    the others (stdlib variants, never chained, count as others)."""
    fams = {f.name: f for f in families()}

    def payload(t: FaultTarget) -> bool:
        fam = fams[t.family]
        return fam.variant_group is None and bool(repair_tools(fam.solution(t)))

    for seed in range(3):
        first_round = plan_singles(ctx, list(fams.values()), seed)[:8]
        assert [payload(t) for t in first_round] == [True, False] * 4, seed


def test_variants_wait_until_the_other_families_had_their_turns(ctx):
    """A stdlib variant is a sure task but the same lesson everywhere: none among the first
    VARIANTS_AFTER singles (plus the two that follow), then one turn in three."""
    fams = {f.name: f for f in families()}
    for seed in range(3):
        order = plan_singles(ctx, list(fams.values()), seed)
        variant = [fams[t.family].variant_group is not None for t in order]
        first = variant.index(True)
        assert first == search.VARIANTS_AFTER + 2, (seed, [t.family for t in order[:12]])
        assert variant[first : first + 9] == [True, False, False] * 3, seed
        assert sum(variant) == sum(
            len([t for t in f.targets(ctx) if t.predicted_tests])
            for f in fams.values() if f.variant_group
        )


def test_each_gold_env_is_searched_in_its_own_order(ctx, settings, catalog):
    """The seed alone would give every repository of a corpus much the same family order and
    the same first blockers: the gold env is part of the search's seed."""
    fake = FakeRuntime()
    fake.on("run", pytest_reply({}, tests=ctx.gold.stability.stable_passing))
    orders = []
    for gold_id in ("feedfacefeedface", "0123456789abcdef"):
        other = FaultContext(ctx.gold.model_copy(update={"id": gold_id}), ctx.impact, ctx.releases)
        report = run_search(other.gold, other, settings, fake, catalog, budget=6, max_faults=1)
        orders.append([a.families for a in report.attempts])
    assert orders[0] != orders[1]


def test_one_payload_carries_one_chain_and_one_family_one_single_per_resource(ctx):
    """In the default corpus one extension module (`_contextvars`) carried a single and every
    chain its repository made, and a second single of the same family for other tests: four
    tasks of one lesson in one repository. A payload now carries one chain (a second chain
    on the resource must be a sibling's), and a family breaks a resource once as a single."""
    fams = {f.name: f for f in families()}
    blockers = search.plan_blockers(ctx, list(fams.values()))
    lib = next(t for t in family("lib-truncated").targets(ctx)
               if repair_tools(family("lib-truncated").solution(t)))
    single = _accepted(fams, lib)
    state = search._SearchState(accepted=[single])
    siblings = [t for t in plan_singles(ctx, list(fams.values()), 0) if not is_blocker(t)]

    def payload_families() -> set[str]:
        return {f.family for faults, _ in search.chain_payloads(state, fams, blockers, siblings)
                for f in faults}

    assert "lib-truncated" in payload_families()
    state.chains_per_payload[search._payload_key((lib,))] = 1  # it carried one chain
    assert "lib-truncated" not in payload_families()
    assert "lib-other-cpu" in payload_families()  # the sibling carries the next

    state.single_resources.add((lib.family, lib.resource))
    again = lib.model_copy(update={"predicted_tests": ("tests/other.py::test_x",)})
    other = next(t for t in family("lib-other-cpu").targets(ctx) if t.resource == lib.resource)
    picker = search.SinglePicker([again, other])
    assert picker.next(state) == other and picker.next(state) is None


def test_a_family_with_its_share_of_tasks_waits_for_the_others(ctx):
    """In the default corpus one repository gave four extension-module-removed tasks, one
    module after another. A family with FAMILY_CAP tasks in a gold env lets every other
    family's target go first; its own come back only when nothing else is left."""
    fams = {f.name: f for f in families()}
    order = [t for t in plan_singles(ctx, list(fams.values()), 0)
             if fams[t.family].variant_group is None][:6]
    full = order[0].family
    state = search._SearchState(family_tasks={full: search.FAMILY_CAP})
    picker = search.SinglePicker(list(order))
    picked = [picker.next(state) for _ in order]
    theirs = [t for t in order if t.family == full]
    assert picked[-len(theirs):] == theirs and picker.next(state) is None
    state.family_tasks[full] = search.FAMILY_CAP - 1  # one short of its share: in its turn
    assert search.SinglePicker(list(order)).next(state) == order[0]


def test_variants_are_for_gold_envs_where_the_others_found_little(ctx):
    """A stdlib variant is a sure task but the same lesson everywhere (17% of the default
    corpus with one per repository): it takes its turn only while the gold env has fewer than
    VARIANTS_WHILE_FEWER tasks, and waits behind every other target after that."""
    fams = {f.name: f for f in families()}
    groups = {n: f.variant_group for n, f in fams.items() if f.variant_group}
    singles = plan_singles(ctx, list(fams.values()), 0)
    variant = next(t for t in singles if t.family in groups)
    other = next(t for t in singles if t.family not in groups)
    found = [_accepted(fams, other)] * (search.VARIANTS_WHILE_FEWER - 1)
    picker = search.SinglePicker([variant, other], groups=groups)
    assert picker.next(search._SearchState(accepted=found)) == variant
    found.append(_accepted(fams, other))
    picker = search.SinglePicker([variant, other], groups=groups)
    state = search._SearchState(accepted=found)
    assert [picker.next(state), picker.next(state)] == [other, variant]


def test_a_used_payload_carries_another_chain_when_no_other_payload_is_left(ctx):
    """The one-chain-per-payload rule cost a third of the chains in the default corpus
    (58 chain attempts against 82): a chain slot with every payload used now takes a used
    one again, with other blockers, up to CHAINS_PER_RESOURCE chains on the resource."""
    fams = {f.name: f for f in families()}
    blockers = search.plan_blockers(ctx, list(fams.values()))
    lib = next(t for t in family("lib-truncated").targets(ctx)
               if repair_tools(family("lib-truncated").solution(t)))
    state = search._SearchState(accepted=[_accepted(fams, lib)])
    key = search._payload_key((lib,))
    state.chains_per_payload[key] = 1
    state.chains_per_resource[search._aimed((lib,))] = 1
    assert not search.chain_payloads(state, fams, blockers)  # no sibling offered
    rng = __import__("random").Random(0)
    chain = next(search._chains(state, fams, blockers, rng))
    assert chain[0] == lib and all(is_blocker(f) for f in chain[1:])
    state.chains_per_resource[search._aimed((lib,))] = search.CHAINS_PER_RESOURCE
    assert next(search._chains(state, fams, blockers, rng), None) is None


def _singles_of_categories(
    ctx, fams: dict, count: int
) -> tuple[list[FaultTarget], list[Candidate]]:
    """`count` planned singles of different categories, each accepted failing its own test."""
    picks: dict[str, FaultTarget] = {}
    for t in plan_singles(ctx, list(fams.values()), 0):
        if fams[t.family].variant_group is None and not is_blocker(t):
            picks.setdefault(fams[t.family].category, t)
    parts = list(picks.values())[:count]
    assert len(parts) == count
    accepted = [
        _accepted(fams, t).model_copy(update={"id": t.family, "failing": (f"t{i}",)})
        for i, t in enumerate(parts)
    ]
    return parts, accepted


def test_compositions_try_the_most_faults_first(ctx):
    """Each part of a composition is one more ordered repair step: with three accepted
    singles of different categories that each show, the first composition joins all three."""
    fams = {f.name: f for f in families()}
    parts, accepted = _singles_of_categories(ctx, fams, 3)
    state = search._SearchState(accepted=accepted)
    rng = __import__("random").Random(0)
    first = next(search._compositions(state, fams, rng, max_faults=3))
    assert sorted(f.family for f in first) == sorted(t.family for t in parts)


def test_a_composition_is_not_tried_again_in_another_order(ctx):
    """Two faults joined either way are one broken state and one task: once a set of faults
    was tried, no order of it is tried again (in the default corpus a gold env spent an
    attempt and a 134 s verification on the second order)."""
    fams = {f.name: f for f in families()}
    _, accepted = _singles_of_categories(ctx, fams, 2)
    state = search._SearchState(accepted=accepted)
    rng = __import__("random").Random(0)
    first = next(search._compositions(state, fams, rng, max_faults=2))
    state.composed.add(search._composition_key(first))
    assert next(search._compositions(state, fams, rng, max_faults=2), None) is None
    assert search._composition_key(tuple(reversed(first))) in state.composed


def test_a_payload_only_family_rides_only_in_chains(ctx, settings, catalog):
    """A stdlib extension module cut short is never tried alone (it would be one more single
    on every module); it carries the chain of an accepted `extension-module-removed` on the
    same module, whose import it kills rather than fails."""
    fams = {f.name: f for f in families()}
    assert fams["extension-module-truncated"].payload_only
    singles = plan_singles(ctx, list(fams.values()), 0)
    assert not [t for t in singles if fams[t.family].payload_only]
    without = [f for f in fams.values() if not f.payload_only]
    assert plan_singles(ctx, without, 0) == singles  # and the others' order is untouched
    removed = next(t for t in singles if t.family == "extension-module-removed")
    state = search._SearchState(accepted=[_accepted(fams, removed)])
    riders = search._payload_only_targets(ctx, fams)
    blockers = search.plan_blockers(ctx, list(fams.values()))
    options = search.chain_payloads(state, fams, blockers, riders)
    payloads = {f.family for faults, _ in options for f in faults}
    assert payloads == {"extension-module-removed", "extension-module-truncated"}
    # in a whole search: never alone, and in a chain only where the removal was accepted
    report = run_search(
        ctx.gold, ctx, settings, _each_single_fails_its_first_prediction(ctx), catalog,
        budget=48, max_faults=3,
    )
    alone = [a.families for a in report.attempts if a.families == ("extension-module-truncated",)]
    assert not alone
    removed_singles = ("extension-module-removed",)
    accepted_removed = {
        c.faults[0].resource for c in report.candidates if c.families == removed_singles
    }
    riding = [
        resource
        for attempt in report.attempts
        for fam_name, resource in zip(attempt.families, attempt.resources, strict=False)
        if fam_name == "extension-module-truncated"
    ]
    assert riding and set(riding) <= accepted_removed
