"""LLM mode against a local scripted OpenAI-compatible server and the real Docker engine."""

from __future__ import annotations

import pytest

from cligym.api import Workspace
from cligym.llm.client import LlmError, LlmSpec
from cligym.records import RejectionReason
from cligym.verify.contract import verify_candidate
from tests.fakellm import FakeLLM, Item, call

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def fake():
    with FakeLLM() as server:
        yield server


def _sqlite_lib(workspace: Workspace, gold) -> str:
    ctx = workspace.fault_context(gold)
    return next(real for real, soname, _ in ctx.lib_resources() if soname == "libsqlite3.so.0")


def _breaking_script(lib: str) -> list[Item]:
    corrupt = (
        f"m=$(stat -c %Y {lib}) && printf '\\105\\114\\130' | "
        f"dd of={lib} bs=1 seek=1 conv=notrunc status=none && touch -h -d @$m {lib}"
    )
    return [
        call("read_file", path="/etc/os-release"),
        call("run_shell", command=f"ls -l {lib}"),
        Item(tool_calls=[("run_shell", "{not json")]),  # malformed: the agent is told, goes on
        call("run_shell", command="cat /app/pyproject.toml > /tmp/x"),  # refused: /app
        call("run_shell", command=corrupt),
        call("run_tests"),
        call("finish", category="nowhere", hint="x", repair_commands=["true"]),  # bad category
        call(
            "finish",
            category="shared-libraries",
            hint="a shared library that sqlite3 loads is damaged",
            repair_commands=[
                "apt-get update -qq && apt-get install -y -qq --reinstall libsqlite3-0 "
                ">/dev/null && rm -rf /var/lib/apt/lists/*"
            ],
        ),
    ]


def test_llm_session_becomes_a_verified_task(sample_gold, workspace: Workspace, fake: FakeLLM):
    gold = sample_gold.gold
    lib = _sqlite_lib(workspace, gold)
    fake.script("breaker", _breaking_script(lib))
    spec = LlmSpec("breaker", fake.url, "sk-test", backoff_max_sec=0.05)
    report = workspace.invert_llm(gold.id, spec, budget=1, seed=101)
    (attempt,) = report.attempts
    assert attempt.accepted, attempt.reason
    assert (attempt.prompt_tokens, attempt.completion_tokens) == (800, 160)
    (candidate,) = report.candidates
    assert len(candidate.steps) == 1 and "dd of=" in candidate.steps[0]  # reads not recorded
    assert candidate.families == ("llm",) and candidate.tokens == 960
    assert candidate.failing and set(candidate.failing) <= set(gold.stability.stable_passing)

    tool_replies = [m["content"] for m in fake.requests[-1]["messages"] if m["role"] == "tool"]
    assert any("not valid JSON" in r for r in tool_replies)
    assert any(r.startswith("refused") for r in tool_replies)
    assert any("tests fail" in r and not r.startswith("0 of") for r in tool_replies)
    assert any(r.startswith("error: category") for r in tool_replies)

    result = verify_candidate(
        gold, candidate, workspace.settings, workspace.runtime, workspace.catalog
    )
    assert result.ok or result.rejection is RejectionReason.DUPLICATE, result.reason
    if result.ok:
        task = workspace.catalog.get_task(result.task_id)
        assert task.tokens == 960 and task.hints["specific"].startswith("A shared library that")

    served = fake.served("breaker")
    again = workspace.invert_llm(gold.id, spec, budget=1, seed=101)
    assert [a.id for a in again.attempts] == [attempt.id] and fake.served("breaker") == served


def test_endpoint_failures_are_recorded_and_resumed(sample_gold, workspace, fake: FakeLLM):
    gold = sample_gold.gold
    fake.script("flaky", [Item(status=500), Item(status=502), Item(status=503)])
    spec = LlmSpec("flaky", fake.url, "sk-test", max_retries=2, backoff_max_sec=0.05)
    with pytest.raises(LlmError, match="kept failing"):
        workspace.invert_llm(gold.id, spec, budget=1, seed=7)
    recorded = [a for a in workspace.catalog.list_attempts(gold.id) if a.seed == 7]
    assert len(recorded) == 1 and recorded[0].rejection is RejectionReason.LLM_ERROR

    fake.script("flaky", [call("run_shell", command="true"), call("finish", category="filesystem",
                hint="h", repair_commands=["true"])])
    report = workspace.invert_llm(gold.id, spec, budget=1, seed=7)  # the failed one is redone
    (attempt,) = report.attempts
    assert attempt.id == recorded[0].id and attempt.rejection is RejectionReason.AGENT_NO_CHANGE
    assert attempt.reason == "agent changed nothing"

    fake.script("denied", [Item(status=401)])
    with pytest.raises(LlmError, match="rejected the API key"):
        workspace.invert_llm(gold.id, LlmSpec("denied", fake.url, "bad"), budget=1)
