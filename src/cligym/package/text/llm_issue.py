"""The LLM issue writer: the model writes the issue a user would post, from the symptoms only.

It sees what the template writer sees (project, test command, failing tests, redacted error
excerpts) and nothing of the fault. Its text must pass the same leak checker; a leaky draft is
sent back once per retry with what it named, and a task whose drafts all leak keeps no issue.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime

from cligym.llm.client import LlmClient, LlmSpec
from cligym.package.text.issue import check_issue, pick_excerpts, test_command
from cligym.package.text.leakcheck import Secrets, redact
from cligym.records import GoldEnv, IssueText, Task

RETRIES = 2
PROMPT = """\
Write the GitHub issue a developer would open about this problem. They only know the symptoms:
the commands they ran and the errors they saw. Do not guess the cause or suggest a fix. Ask for
the environment to be repaired so the whole test suite passes again, without changing the
project's code or tests. Mention the exact test command. Keep it under 250 words.

Project: {repo}, checked out at /app; tests are run as the user `tester`:
    {command}
{n} of {total} tests fail, for example:
{tests}
Error output:
{excerpts}

Reply with JSON only: {{"title": "...", "body": "... (markdown)"}}"""


def write_llm_issue(
    task: Task, gold: GoldEnv, secrets: Secrets, spec: LlmSpec, seed: int = 0
) -> tuple[IssueText | None, str, int]:
    """(issue or None, reason, tokens spent)."""
    client = LlmClient(spec)
    excerpts = pick_excerpts(task.errors, secrets, random.Random(f"{seed}:{task.id}"))
    prompt = PROMPT.format(
        repo=gold.name,
        command=test_command(gold),
        n=len(task.fail_to_pass),
        total=len(task.fail_to_pass) + len(task.pass_to_pass),
        tests="\n".join(f"- {t}" for t in task.fail_to_pass[:8]),
        excerpts="\n\n".join(excerpts) or "(none captured)",
    )
    messages = [{"role": "user", "content": prompt}]
    reason = "no reply"
    for _ in range(RETRIES + 1):
        reply = client.chat(messages)
        tokens = client.prompt_tokens + client.completion_tokens
        draft = _parse(reply.content)
        if draft is None:
            reason = "the reply is not JSON with a title and a body"
            feedback = "Reply with JSON only, with the keys title and body."
        else:
            issue = IssueText(
                task_id=task.id,
                writer=f"llm:{spec.model}",
                seed=seed,
                title=draft[0],
                body=draft[1],
                hints={k: redact(v, secrets) for k, v in task.hints.items()},
                created_at=datetime.now(UTC),
            )
            leaks = check_issue(issue, secrets)
            if not leaks:
                return issue, "ok", tokens
            reason = f"issue text leaks: {leaks[0]}"
            feedback = (
                "The issue must describe symptoms only, but it "
                + "; ".join(leaks)
                + ". Rewrite it without that. Reply with JSON only."
            )
        messages += [{"role": "assistant", "content": reply.content}, {"role": "user",
                                                                       "content": feedback}]
    return None, reason, client.prompt_tokens + client.completion_tokens


def _parse(text: str) -> tuple[str, str] | None:
    match = re.search(r"\{.*\}", text, flags=re.S)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    title, body = data.get("title"), data.get("body")
    if not isinstance(title, str) or not isinstance(body, str) or not title or not body:
        return None
    return " ".join(title.split())[:200], body.strip() + "\n"
