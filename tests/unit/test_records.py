"""Records are immutable all the way down, and serialise exactly as stored catalogs hold them."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from cligym.faults.registry import families
from cligym.records import (
    AttemptOutcome,
    Candidate,
    FaultCategory,
    FaultTarget,
    ImpactMap,
    IssueText,
    ResourceKey,
    ResourceKind,
    StabilityReport,
    Task,
)
from tests.unit.fault_fixtures import TESTS, context
from tests.unit.test_package import _task

GOLDEN = Path(__file__).parent / "golden" / "records.json"
WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _records() -> dict[str, BaseModel]:
    """Records built from the unit fixtures, one of each kind that holds a mapping."""
    ctx = context()
    # the families there were when the golden file was written (later ones add no field)
    recorded = json.loads(json.loads(GOLDEN.read_text())["candidate"])["families"]
    faults = tuple(t for fam in families() if fam.name in recorded for t in fam.targets(ctx)[:1])
    stability = StabilityReport(
        runs=3,
        stable_passing=tuple(TESTS),
        flaky=(),
        failing=(),
        skipped=(),
        durations_sec={TESTS[1]: 0.25, TESTS[0]: 1.5},
    )
    return {
        "gold": ctx.gold.model_copy(update={"created_at": WHEN, "stability": stability}),
        "impact": ctx.impact,
        "outcome": AttemptOutcome(applied=True, failing=(TESTS[0],), errors={TESTS[0]: "E boom"}),
        "candidate": Candidate(
            id="c" * 16,
            gold_id=ctx.gold.id,
            faults=faults,
            families=tuple(f.family for f in faults),
            categories=(FaultCategory.SHARED_LIBRARIES,),
            steps=("true",),
            solution=("true",),
            needs_network=False,
            failing=(TESTS[0],),
            errors={TESTS[0]: "E boom", TESTS[2]: "E tz"},
            created_at=WHEN,
        ),
        "task": _task().model_copy(update={"created_at": WHEN}),
        "issue": IssueText(
            task_id="t" * 16,
            writer="template",
            seed=1,
            title="sqlite fails",
            body="body",
            hints={"category": "c", "specific": "s"},
            created_at=WHEN,
        ),
    }


def render_records() -> dict[str, str]:
    return {name: record.model_dump_json() for name, record in _records().items()}


def test_records_serialise_as_recorded():
    assert render_records() == json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("name", sorted(_records()))
def test_records_round_trip_through_json(name):
    record = _records()[name]
    again = type(record).model_validate_json(record.model_dump_json())
    assert again == record
    assert again.model_dump_json() == record.model_dump_json()


if __name__ == "__main__":
    print(json.dumps(render_records(), indent=1, sort_keys=True))


def _mappings(record: BaseModel) -> Iterator[dict]:
    """Every mapping a record holds, in nested records too."""
    for field in type(record).model_fields:
        value = getattr(record, field)
        if isinstance(value, dict):
            yield value
        elif isinstance(value, BaseModel):
            yield from _mappings(value)


@pytest.mark.parametrize("name", sorted(_records()))
def test_no_mapping_of_a_record_can_be_changed(name):
    mappings = list(_mappings(_records()[name]))
    assert mappings
    for mapping in mappings:
        with pytest.raises(TypeError):
            mapping["x"] = 1
        with pytest.raises(TypeError):
            mapping.update(x=1)
        for change in ("clear", "popitem"):
            with pytest.raises(TypeError):
                getattr(mapping, change)()
        with pytest.raises(TypeError):
            mapping.setdefault("x", 1)
        with pytest.raises(TypeError):
            mapping.pop("x", None)
        with pytest.raises(TypeError):
            mapping |= {"x": 1}


def test_defaults_are_frozen_too():
    outcome = AttemptOutcome(applied=False)
    with pytest.raises(TypeError):
        outcome.errors["x"] = "y"  # type: ignore[index]
    impact = ImpactMap(gold_id="g", tests=(), resources={}, global_resources=())
    with pytest.raises(TypeError):
        impact.owners["x"] = "y"  # type: ignore[index]


def test_frozen_records_pickle_copy_and_compare_like_plain_ones():
    task = _records()["task"]
    assert isinstance(task, Task)
    assert pickle.loads(pickle.dumps(task)) == task
    assert copy.deepcopy(task) == task and task.model_copy(deep=True) == task
    assert task.errors == dict(task.errors)
    assert type(task.model_dump()["errors"]) is dict
    changed = task.model_copy(update={"hints": {"category": "c"}})
    assert changed.hints == {"category": "c"}  # model_copy(update=...) is how records change


def test_resource_keys_are_typed_in_memory_and_kind_name_text_on_disk():
    impact = _records()["impact"]
    assert isinstance(impact, ImpactMap)
    key = ResourceKey(ResourceKind.LIB, "/usr/lib/x86_64-linux-gnu/libssl.so.3")
    assert key in impact.resources and all(isinstance(k, ResourceKey) for k in impact.resources)
    assert str(key) in json.loads(impact.model_dump_json())["resources"]
    assert str(key) in impact.model_dump()["resources"]  # python mode: text too, as before
    assert impact.tests_using(key) == impact.tests_using(str(key)) != ()
    assert ResourceKey.parse(str(key)) == key
    target = FaultTarget(family="x", resource="lib:/a:b")  # a name may hold colons
    assert target.resource == ResourceKey(ResourceKind.LIB, "/a:b")
    assert json.loads(target.model_dump_json())["resource"] == "lib:/a:b"


@pytest.mark.parametrize("text", ["x", "lib:", "nosuchkind:x"])
def test_malformed_resource_keys_are_refused(text):
    with pytest.raises(ValueError):
        ResourceKey.parse(text)
    with pytest.raises(ValidationError):
        FaultTarget(family="x", resource=text)
