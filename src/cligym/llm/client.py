"""Chat completions with tools against any OpenAI-compatible server (vLLM, SGLang, litellm
proxy, OpenAI), through the openai SDK.

Transient failures (429, 5xx, timeouts, dropped connections) are retried with exponential
backoff (tenacity); authentication and unknown-model errors fail at once with a message that
says what to fix. Token usage is summed per client, so callers can account per attempt.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from cligym.errors import CligymError

log = logging.getLogger(__name__)
RETRYABLE = (
    openai.RateLimitError,
    openai.APIConnectionError,  # includes APITimeoutError
    openai.InternalServerError,
)


class LlmError(CligymError):
    """The endpoint refused the request for a reason retrying cannot fix."""


@dataclass(frozen=True)
class LlmSpec:
    """Where and how to call the model."""

    model: str
    base_url: str
    api_key: str = ""
    temperature: float = 0.7
    request_timeout_sec: float = 120.0
    max_retries: int = 5
    backoff_max_sec: float = 30.0

    def key(self) -> str:
        return self.api_key or os.environ.get("OPENAI_API_KEY", "") or "sk-no-key"


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any] | None  # None when the model sent arguments that are not JSON
    raw_arguments: str


@dataclass(frozen=True)
class ChatReply:
    content: str
    tool_calls: tuple[ToolCall, ...]
    prompt_tokens: int
    completion_tokens: int

    def as_message(self) -> dict[str, Any]:
        """The assistant message to append to the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.raw_arguments},
                }
                for c in self.tool_calls
            ]
        return message


@dataclass
class LlmClient:
    """One endpoint and model; counts the tokens of every successful call."""

    spec: LlmSpec
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    _client: openai.OpenAI = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = openai.OpenAI(
            base_url=self.spec.base_url,
            api_key=self.spec.key(),
            timeout=self.spec.request_timeout_sec,
            max_retries=0,  # tenacity does it, with our limits and logging
        )

    def chat(
        self, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]] = ()
    ) -> ChatReply:
        """One completion, retried on transient errors."""
        caller = retry(
            retry=retry_if_exception_type(RETRYABLE),
            stop=stop_after_attempt(self.spec.max_retries + 1),
            wait=wait_exponential(multiplier=0.5, max=self.spec.backoff_max_sec),
            before_sleep=lambda state: log.warning(
                "LLM call failed (%s); retry %d", state.outcome and state.outcome.exception(),
                state.attempt_number,
            ),
            reraise=True,
        )(self._create)
        try:
            response = caller(list(messages), list(tools))
        except openai.AuthenticationError as err:
            raise LlmError(
                f"the endpoint {self.spec.base_url} rejected the API key: set --api-key or "
                "OPENAI_API_KEY"
            ) from err
        except openai.NotFoundError as err:
            raise LlmError(
                f"model {self.spec.model!r} (or its route) not found at {self.spec.base_url}: "
                "check --model and --base-url (it usually ends in /v1)"
            ) from err
        except openai.BadRequestError as err:
            raise LlmError(f"the endpoint refused the request: {_first_line(err)}") from err
        except RETRYABLE as err:
            raise LlmError(
                f"the endpoint {self.spec.base_url} kept failing after "
                f"{self.spec.max_retries} retries: {_first_line(err)}"
            ) from err
        except openai.APIError as err:  # 403, 422, unreadable responses, ...
            raise LlmError(f"the endpoint refused the request: {_first_line(err)}") from err
        return self._reply(response)

    def _create(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
        kwargs: dict[str, Any] = {
            "model": self.spec.model,
            "messages": messages,
            "temperature": self.spec.temperature,
        }
        if tools:
            kwargs["tools"] = tools
            kwargs["tool_choice"] = "auto"
        return self._client.chat.completions.create(**kwargs)

    def _reply(self, response: Any) -> ChatReply:
        self.calls += 1
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        if not response.choices:
            return ChatReply("", (), prompt, completion)
        message = response.choices[0].message
        calls = []
        for call in message.tool_calls or ():
            function = getattr(call, "function", None)
            if function is None:
                continue  # not a function call (custom tool types are not used here)
            raw = function.arguments or ""
            try:
                args = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError:
                args = None
            calls.append(
                ToolCall(call.id, function.name, args if isinstance(args, dict) else None, raw)
            )
        return ChatReply(message.content or "", tuple(calls), prompt, completion)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
