"""LLM mode of inversion: a tool-calling agent breaks a gold container, guided by test runs.

The agent works as root in one disposable container of the gold image, through four tools:
run_shell, run_tests, read_file and finish. Every successful command that may change state is
recorded as a Dockerfile-style step. When the agent finishes, its steps are replayed in a fresh
container exactly like a procedural attempt; if gold-stable tests fail, the result is a
Candidate with the agent's repair commands as its solution, and it goes through the same
verification contract as every other candidate. Tokens are counted per attempt.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.errors import CligymError
from cligym.ids import content_id
from cligym.invert.search import InvertReport, steps_need_network
from cligym.llm.client import LlmClient, LlmError, LlmSpec, ToolCall
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import (
    Attempt,
    Candidate,
    FaultCategory,
    FaultTarget,
    GoldEnv,
    ImpactMap,
    RejectionReason,
    ResourceKey,
    ResourceKind,
)
from cligym.resources import render_impact_summary
from cligym.runtime.archive import read_file_from_tar
from cligym.runtime.protocol import ContainerHandle, Runtime
from cligym.testbed.attempt import (
    ERROR_CHARS,
    judge,
    last_line,
    render_attempt_script,
    run_attempt,
    suite_timeout_sec,
)
from cligym.testbed.command import render_test_script
from cligym.testbed.layout import JUNIT_PATH, RESULTS_DIR, TEST_USER

OUTPUT_CHARS = 3000
COMMAND_TIMEOUT_SEC = 120
LLM_FAMILY = "llm"
LLM_ERROR = "llm error: "  # attempts that ended so are redone on resume

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "run_shell",
            "description": "Run a bash command as root in the environment (a fresh shell each "
            "time, working directory /). Returns the exit code and output.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "run_tests",
            "description": "Run the project's tests the way its developers do (unprivileged "
            "user, login shell). Optionally only some test ids. Returns which tests fail.",
            "parameters": {
                "type": "object",
                "properties": {"tests": {"type": "array", "items": {"type": "string"}}},
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read the start of a file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "finish",
            "description": "End the session once tests fail because of your changes.",
            "parameters": {
                "type": "object",
                "properties": {
                    "category": {"type": "string", "enum": [c.value for c in FaultCategory]},
                    "hint": {
                        "type": "string",
                        "description": "One short phrase naming the broken area, not the fix.",
                    },
                    "repair_commands": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Shell commands (as root) that undo the breakage.",
                    },
                },
                "required": ["category", "hint", "repair_commands"],
            },
        },
    },
]

SYSTEM_PROMPT = """\
You create realistic environment-repair exercises. The machine below runs a Python project whose
test suite passes. Break the ENVIRONMENT so that some of its tests fail, the way real systems
break: a damaged or missing shared library, a wrong or missing dependency version, a bad PATH or
environment variable in a login script, lost permissions, a broken configuration file, a broken
interpreter module or system tool.

Rules:
- Never modify the repository in /app (its source, tests or config) or the test user's project
  files; break the system around it.
- Keep a working shell: do not break bash, coreutils, apt or dpkg.
- Leave no traces: no helper scripts, backups, copies, notes or history files; keep modification
  times of files you change (`touch -r` or `touch -d @$(stat -c %Y FILE)`).
- Each run_shell starts a fresh shell: change state through files, not `export`.
- Check your effect with run_tests, then call finish with the category, a short hint that names
  the area (not the fix) and repair commands that restore the original state.

Project: {repo} ({stable} stably passing tests, Python {python}), at /app, tested as user
`{user}` with: {test_command}
What the tests use (from a probe of the passing suite):
{impact}
Focus on this category in this session: {focus}.
{avoid}"""

_READ_ONLY = {
    "ls", "cat", "head", "tail", "grep", "egrep", "stat", "file", "which", "type", "pwd", "id",
    "printenv", "wc", "readlink", "realpath", "ldd", "apt-cache", "ps", "uname", "whoami", "du",
    "df", "sort", "uniq", "cut", "md5sum", "sha256sum", "od", "xxd", "hexdump", "strings",
    "true", "test", "[", "getent", "locale", "date", "tree", "diff", "cmp", "echo", "find",
}
_WRITE_HINTS = re.compile(
    r"(?<![0-9<])(?:&|\d)?>{1,2}(?!\s*(/dev/null|&\d))"  # output redirection, not to /dev/null
    r"|\btee\b|\bsed\s+-i|-delete\b|-exec(dir)?\b|-fprint"
)


def is_read_only(command: str) -> bool:
    """Pure: True for commands that only inspect (they are not recorded as steps). Anything
    not plainly an inspection counts as a change, so replay never misses one."""
    if _WRITE_HINTS.search(command):
        return False
    for segment in re.split(r"\|\||&&|[|;\n]", command):
        words = segment.strip().split()
        if words and words[0] not in _READ_ONLY:
            return False
    return True


def touches_repository(command: str) -> bool:
    """`/app` by absolute path, or `app/...` relative to the session's working directory `/`."""
    absolute = re.search(r"(?<![\w.-])/app(?![\w.-])", command)
    relative = re.search(r"(^|[\s;&|('\"=])\.?/?app(/|\s|$)", command)
    return absolute is not None or relative is not None


@dataclass
class Session:
    """What one agent session did."""

    steps: list[str] = field(default_factory=list)
    finished: dict[str, Any] | None = None
    turns: int = 0
    note: str = ""


def run_llm_search(
    gold: GoldEnv,
    impact: ImpactMap,
    spec: LlmSpec,
    settings: Settings,
    runtime: Runtime,
    catalog: Catalog,
    *,
    budget: int,
    seed: int = 0,
    max_steps: int = 30,
    max_tokens: int = 200_000,
    reporter: Reporter = NULL_REPORTER,
) -> InvertReport:
    """`budget` agent sessions; finished ones are skipped on a rerun (the catalog resumes)."""
    categories = [c.value for c in FaultCategory]
    random.Random(seed).shuffle(categories)
    attempts: list[Attempt] = []
    candidates: list[Candidate] = []
    for index in range(budget):
        focus = categories[index % len(categories)]
        attempt_id = content_id("llm-attempt", gold.id, spec.model, spec.base_url, seed, index)
        previous = catalog.get_attempt(attempt_id)
        if previous is not None and previous.rejection is not RejectionReason.LLM_ERROR:
            attempts.append(previous)
            cand = catalog.get_candidate(previous.candidate_id) if previous.candidate_id else None
            if cand is not None:
                candidates.append(cand)
            continue
        attempt, candidate = run_llm_attempt(
            gold, impact, spec, settings, runtime, catalog,
            attempt_id=attempt_id, seed=seed, index=index, focus=focus,
            avoid=[c.faults[0].param("hint") for c in candidates],
            max_steps=max_steps, max_tokens=max_tokens,
        )
        attempts.append(attempt)
        if candidate is not None:
            candidates.append(candidate)
        verdict = "accepted" if attempt.accepted else f"rejected ({attempt.reason})"
        tokens = attempt.prompt_tokens + attempt.completion_tokens
        reporter.stage("invert", f"[{index + 1}/{budget}] llm {focus}: {verdict}, {tokens} tokens")
        reporter.progress("invert", index + 1, budget, focus)
    return InvertReport(tuple(attempts), tuple(candidates))


def run_llm_attempt(
    gold: GoldEnv,
    impact: ImpactMap,
    spec: LlmSpec,
    settings: Settings,
    runtime: Runtime,
    catalog: Catalog,
    *,
    attempt_id: str,
    seed: int,
    index: int,
    focus: str,
    avoid: Sequence[str] = (),
    max_steps: int = 30,
    max_tokens: int = 200_000,
) -> tuple[Attempt, Candidate | None]:
    """One agent session, then the replay that turns its steps into a Candidate (or not)."""
    started = time.monotonic()
    client = LlmClient(spec)
    session = Session()
    failure: LlmError | None = None
    try:
        with runtime.container(gold.image_tag, stage="invert", user="root", network=False) as box:
            _converse(client, session, box, gold, impact, runtime, settings, focus, avoid,
                      max_steps, max_tokens)
        candidate, rejection, reason = _replay(gold, session, spec, client, settings, runtime)
    except LlmError as err:
        failure, candidate = err, None
        rejection, reason = RejectionReason.LLM_ERROR, f"{LLM_ERROR}{str(err).splitlines()[0]}"
    except CligymError as err:  # a command that never returned, a container that died
        candidate, rejection = None, RejectionReason.SESSION_ENDED
        reason = f"session ended: {str(err).splitlines()[0][:160]}"
    now = datetime.now(UTC)
    attempt = Attempt(
        id=attempt_id,
        gold_id=gold.id,
        run_id=runtime.run_id,
        seed=seed,
        index=index,
        families=(LLM_FAMILY,),
        resources=(ResourceKey(ResourceKind.LLM, focus),),
        accepted=candidate is not None,
        reason=reason,
        rejection=rejection,
        failing_count=len(candidate.failing) if candidate else 0,
        candidate_id=candidate.id if candidate else None,
        duration_sec=round(time.monotonic() - started, 3),
        prompt_tokens=client.prompt_tokens,
        completion_tokens=client.completion_tokens,
        created_at=now,
    )
    catalog.put_attempt(attempt, candidate)
    if failure is not None:
        raise failure  # recorded; the search stops with the endpoint's error
    return attempt, candidate


def _converse(
    client: LlmClient,
    session: Session,
    box: ContainerHandle,
    gold: GoldEnv,
    impact: ImpactMap,
    runtime: Runtime,
    settings: Settings,
    focus: str,
    avoid: Sequence[str],
    max_steps: int,
    max_tokens: int,
) -> None:
    prompt = SYSTEM_PROMPT.format(
        repo=gold.name,
        stable=len(gold.stability.stable_passing),
        python=gold.python_version,
        user=TEST_USER,
        test_command="cd /app && python -m pytest",
        impact="\n".join(f"- {line}" for line in render_impact_summary(impact, top=8)[:30]),
        focus=focus,
        avoid=("Already done in other sessions (do something different): " + "; ".join(avoid))
        if avoid
        else "",
    )
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompt},
        {"role": "user", "content": "Begin. Use the tools; call finish when tests fail."},
    ]
    while session.finished is None:
        if session.turns >= max_steps:
            session.note = f"agent did not finish within {max_steps} steps"
            return
        if client.prompt_tokens + client.completion_tokens >= max_tokens:
            session.note = f"token budget of {max_tokens} spent"
            return
        reply = client.chat(messages, TOOLS)
        session.turns += 1
        messages.append(reply.as_message())
        if not reply.tool_calls:
            messages.append({"role": "user", "content": "Use a tool; call finish when done."})
            continue
        for tool_call in reply.tool_calls:
            result = _dispatch(tool_call, session, box, gold, runtime, settings)
            messages.append({"role": "tool", "tool_call_id": tool_call.id, "content": result})


def _dispatch(
    tool_call: ToolCall,
    session: Session,
    box: ContainerHandle,
    gold: GoldEnv,
    runtime: Runtime,
    settings: Settings,
) -> str:
    args = tool_call.arguments
    if args is None:
        return "error: the arguments are not valid JSON; call the tool again"
    name = tool_call.name
    if name == "run_shell" and isinstance(args.get("command"), str):
        command = args["command"]
        if touches_repository(command):
            return "refused: the repository in /app is off limits"
        result = runtime.exec(box, ["bash", "-c", command], timeout_sec=COMMAND_TIMEOUT_SEC,
                              workdir="/")
        if result.ok and not is_read_only(command):
            session.steps.append(command)
        return f"exit code {result.exit_code}\n{_clip(result.output)}"
    if name == "run_tests":
        tests = [t for t in args.get("tests") or [] if isinstance(t, str)]
        return _run_tests(box, gold, runtime, settings, tests)
    if name == "read_file" and isinstance(args.get("path"), str):
        result = runtime.exec(box, ["head", "-c", "4000", args["path"]], timeout_sec=30)
        return _clip(result.output)
    if name == "finish":
        category = args.get("category")
        repair = args.get("repair_commands") or []
        if category not in {c.value for c in FaultCategory}:
            return f"error: category must be one of {', '.join(c.value for c in FaultCategory)}"
        if not _string_list(repair):
            return "error: repair_commands must be a non-empty list of shell commands"
        session.finished = args
        return "finished"
    return f"error: unknown tool or bad arguments: {name}"


def _string_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _run_tests(
    box: ContainerHandle, gold: GoldEnv, runtime: Runtime, settings: Settings, tests: list[str]
) -> str:
    script = render_attempt_script(
        [], render_test_script(gold.recipe, gold.layout, False, tuple(tests)), gold.layout
    )
    runtime.exec(
        box, ["bash", "-c", script],
        timeout_sec=suite_timeout_sec(gold, settings), env={"HOME": f"/home/{TEST_USER}"},
    )
    junit = read_file_from_tar(runtime.read_path(box, JUNIT_PATH))
    text = junit.decode(errors="replace") if junit else None
    failing, errors, _, broken = judge(gold.stability.stable_passing, tests or None, text)
    runtime.exec(box, ["rm", "-rf", RESULTS_DIR], timeout_sec=30)
    if broken:
        return "the test runner itself failed: no test could run"
    lines = [f"{len(failing)} of {len(tests) or len(gold.stability.stable_passing)} tests fail"]
    lines += [f"- {t}: {errors.get(t, '')[-300:]}" for t in failing[:5]]
    return "\n".join(lines)


def _replay(
    gold: GoldEnv,
    session: Session,
    spec: LlmSpec,
    client: LlmClient,
    settings: Settings,
    runtime: Runtime,
) -> tuple[Candidate | None, RejectionReason | None, str]:
    """The session's candidate (kind None, "ok"), or why there is none."""
    if session.finished is None:
        return None, RejectionReason.AGENT_UNFINISHED, session.note or "agent did not finish"
    if not session.steps:
        return None, RejectionReason.AGENT_NO_CHANGE, "agent changed nothing"
    steps = tuple(session.steps)
    timeout = suite_timeout_sec(gold, settings)
    outcome = run_attempt(runtime, gold, steps, timeout_sec=timeout)
    if not outcome.applied:
        detail = "steps failed on replay: " + last_line(outcome.output_tail)
        return None, RejectionReason.STEPS_FAILED, detail
    if outcome.timed_out:
        detail = f"tests did not finish within {timeout} s on replay"
        return None, RejectionReason.TESTS_TIMED_OUT, detail
    if not outcome.failing:
        return None, RejectionReason.NO_FAILURE, "no gold-stable test failed on replay"
    repair = tuple(str(r) for r in session.finished["repair_commands"])
    category = FaultCategory(session.finished["category"])
    hint = str(session.finished.get("hint", "")).strip()[:200] or "the environment was changed"
    target = FaultTarget(
        family=LLM_FAMILY,
        resource=ResourceKey(ResourceKind.LLM, category.value),
        params=(("hint", hint), ("model", spec.model)),
        predicted_tests=outcome.failing,
    )
    candidate = Candidate(
        id=content_id("candidate", gold.id, steps),
        gold_id=gold.id,
        faults=(target,),
        families=(LLM_FAMILY,),
        categories=(category,),
        steps=steps,
        solution=repair,
        needs_network=steps_need_network(repair),
        failing=outcome.failing,
        errors={k: v[:ERROR_CHARS] for k, v in outcome.errors.items()},
        tokens=client.prompt_tokens + client.completion_tokens,
        created_at=datetime.now(UTC),
    )
    return candidate, None, "ok"


def _clip(text: str) -> str:
    if len(text) <= OUTPUT_CHARS:
        return text
    half = OUTPUT_CHARS // 2
    return text[:half] + "\n[... output cut ...]\n" + text[-half:]


def render_steps(steps: Sequence[str]) -> str:
    """For logs: the steps as Dockerfile RUN lines."""
    return "\n".join(f"RUN {s}" for s in steps) or "(none)"

