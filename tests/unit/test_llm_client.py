"""The LLM adapter against a local scripted OpenAI-compatible server."""

from __future__ import annotations

import pytest

from cligym.llm.client import LlmClient, LlmError, LlmSpec
from tests.fakellm import FakeLLM, Item, call


@pytest.fixture
def fake():
    with FakeLLM() as server:
        yield server


def _client(fake: FakeLLM, model: str = "m", **kw) -> LlmClient:
    spec = LlmSpec(model=model, base_url=fake.url, api_key="sk-test", backoff_max_sec=0.05, **kw)
    return LlmClient(spec)


def test_tool_calls_and_tokens(fake: FakeLLM):
    fake.script("m", [call("run_shell", command="ls /"), Item(content="done")])
    client = _client(fake)
    reply = client.chat([{"role": "user", "content": "hi"}], tools=[{"type": "function"}])
    (tc,) = reply.tool_calls
    assert (tc.name, tc.arguments) == ("run_shell", {"command": "ls /"})
    assert reply.as_message()["tool_calls"][0]["function"]["name"] == "run_shell"
    assert client.chat([{"role": "user", "content": "again"}]).content == "done"
    assert (client.prompt_tokens, client.completion_tokens, client.calls) == (200, 40, 2)
    assert fake.requests[0]["tools"] == [{"type": "function"}]


def test_server_errors_and_timeouts_are_retried(fake: FakeLLM):
    fake.script("m", [Item(status=500), Item(status=429), Item(sleep_sec=1.5), Item(content="ok")])
    client = _client(fake, request_timeout_sec=0.5)
    assert client.chat([{"role": "user", "content": "x"}]).content == "ok"
    assert fake.served("m") == 4 and client.calls == 1


def test_persistent_errors_fail_with_one_clear_line(fake: FakeLLM):
    fake.script("m", [Item(status=503)])
    with pytest.raises(LlmError, match="kept failing after 2 retries"):
        _client(fake, max_retries=2).chat([{"role": "user", "content": "x"}])
    assert fake.served("m") == 3
    fake.script("auth", [Item(status=401)])
    with pytest.raises(LlmError, match="rejected the API key"):
        _client(fake, "auth").chat([{"role": "user", "content": "x"}])
    with pytest.raises(LlmError, match=r"model 'nobody' .*not found"):
        _client(fake, "nobody").chat([{"role": "user", "content": "x"}])  # unscripted: 404


def test_malformed_tool_arguments_are_kept_raw(fake: FakeLLM):
    fake.script("m", [Item(tool_calls=[("run_shell", "{not json")])])
    (tc,) = _client(fake).chat([{"role": "user", "content": "x"}]).tool_calls
    assert tc.arguments is None and tc.raw_arguments == "{not json"
