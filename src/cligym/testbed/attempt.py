"""Run fault steps and the tests in one disposable container, and judge what broke.

The container starts from the gold image as root, applies the steps (each a `RUN` line), then
runs the tests as the unprivileged test user in a login shell, exactly as the gold runs did.
Only Docker and pytest report the outcome: a container that cannot even start pytest makes every
selected test count as failing (the runner is broken), never as passing.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from cligym.config import Settings
from cligym.records import AttemptOutcome, GoldEnv, Layout, TestStatus
from cligym.runtime.protocol import Runtime
from cligym.testbed.command import render_as_tester, render_test_script
from cligym.testbed.junit import JunitParseError, parse_junit
from cligym.testbed.run import run_tests

APPLIED_MARKER = "=== cligym: steps applied ==="
ERROR_CHARS = 600


def render_attempt_script(steps: Sequence[str], test_script: str, layout: Layout) -> str:
    """Shell for one attempt: steps as root (stop at the first failure), then the tests."""
    lines = ["set -e"]
    lines += [f"( {step} )" for step in steps]
    lines += [
        "set +e",
        f"echo {shlex.quote(APPLIED_MARKER)}",
        render_as_tester(test_script, layout),
    ]
    return "\n".join(lines)


def judge(
    stable: Sequence[str],
    selected: Sequence[str] | None,
    junit_text: str | None,
) -> tuple[tuple[str, ...], dict[str, str], int, bool]:
    """Pure: (failing stable tests, error excerpts, tests seen, runner broken).

    A stable test counts as failing when pytest reports it failed/errored, when its module
    failed to collect, or when it is missing from the report.
    """
    expected = list(selected) if selected else list(stable)
    if not junit_text:
        return tuple(sorted(expected)), {}, 0, True
    try:
        cases = {c.nodeid: c for c in parse_junit(junit_text)}
    except JunitParseError:
        return tuple(sorted(expected)), {}, 0, True
    failing: list[str] = []
    errors: dict[str, str] = {}
    for nodeid in expected:
        case = cases.get(nodeid)
        module_error = cases.get(nodeid.split("::", 1)[0])
        if case is not None and case.status is TestStatus.PASSED:
            continue
        if case is not None and case.status is TestStatus.SKIPPED:
            failing.append(nodeid)
            errors[nodeid] = f"skipped: {case.message}"[:ERROR_CHARS]
            continue
        failing.append(nodeid)
        source = case if case is not None else module_error
        message = source.message if source is not None else "test missing from the report"
        errors[nodeid] = _excerpt(message)
    return tuple(sorted(failing)), errors, len(cases), False


def run_attempt(
    runtime: Runtime,
    gold: GoldEnv,
    steps: Sequence[str],
    *,
    timeout_sec: int,
    select: Sequence[str] | None = None,
    network: bool = False,
    image: str | None = None,
    stage: str = "invert",
) -> AttemptOutcome:
    """Apply `steps` on a container of `image` (default: gold) and run (selected) tests."""
    test_script = render_test_script(
        gold.recipe, gold.layout, with_metadata=False, extra_args=tuple(select or ())
    )
    script = render_attempt_script(steps, test_script, gold.layout)
    run = run_tests(
        runtime,
        image or gold.image_tag,
        ["bash", "-c", script],
        stage=stage,
        timeout_sec=timeout_sec,
        env={"PYTHONHASHSEED": "1"},
        workdir=gold.layout.app_dir,
        network=network,
    )
    result, junit = run.result, run.junit
    if APPLIED_MARKER not in result.output:
        return AttemptOutcome(
            applied=False, output_tail=_tail(result.output), duration_sec=result.duration_sec
        )
    failing, errors, seen, broken = judge(gold.stability.stable_passing, select, junit)
    if result.timed_out:
        broken = True
    if broken and not errors:
        tail = _tail(result.output.split(APPLIED_MARKER, 1)[-1])
        errors = {t: tail[-ERROR_CHARS:] for t in failing[:1]}
    return AttemptOutcome(
        applied=True,
        failing=failing,
        errors=errors,
        ran_tests=seen,
        runner_broken=broken,
        timed_out=result.timed_out,
        output_tail=_tail(result.output),
        duration_sec=result.duration_sec,
    )


def last_line(output: str, limit: int = 160) -> str:
    """The last non-empty line of a command's output, for a one-line rejection reason."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    last = lines[-1] if lines else "(no output)"
    return last if len(last) <= limit else "…" + last[-limit:]


def suite_timeout_sec(gold: GoldEnv, settings: Settings) -> int:
    """Bound for one test run of a broken env: 10x gold's run (at least a minute), at most the
    configured limit. A fault may slow tests down; ten times slower is a hang, not a task."""
    return int(min(settings.test_timeout_sec, max(60, 10 * gold.run_sec)))


def _excerpt(message: str) -> str:
    """First line (pytest's summary) and the end (the exception), within ERROR_CHARS."""
    text = message.strip()
    if len(text) <= ERROR_CHARS:
        return text
    first = text.splitlines()[0][: ERROR_CHARS // 3]
    return first + "\n...\n" + text[-(ERROR_CHARS - len(first) - 5) :]


def _tail(text: str, lines: int = 15) -> str:
    clean = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return "\n".join(clean.strip().splitlines()[-lines:])
