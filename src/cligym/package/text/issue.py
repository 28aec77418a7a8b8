"""Issue text: what a user would post about a broken environment, written from its symptoms.

The template writer turns the FAIL_TO_PASS tests and their real error output into an issue:
the command that was run, which tests fail, excerpts of the tracebacks. It never states the cause
or the fix. Phrasings vary by a seed (deterministic per task), and every text passes the leak
checker (`cligym.package.text.leakcheck`) before it is kept: excerpts are redacted first.
"""

from __future__ import annotations

import random
import re
import shlex
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from cligym.package.text.leakcheck import Secrets, find_leaks, redact
from cligym.records import GoldEnv, IssueText, Task
from cligym.testbed.command import render_user_command
from cligym.testbed.layout import RESULTS_DIR, TEST_USER

MAX_TESTS_LISTED = 8
MAX_EXCERPTS = 2
EXCERPT_LINES = 8



def test_command(gold: GoldEnv) -> str:
    """What the issue tells the user to run: the command verification measured with."""
    command = render_user_command(gold.recipe, gold.layout)
    return f"runuser -u {TEST_USER} -- bash -lc {shlex.quote(command)}"


_TITLES = (
    "{repo}: {n} tests fail in this environment",
    "Test suite of {repo} broken here ({n} failing)",
    "{repo} tests started failing ({n} tests) without code changes",
    "Cannot get {repo}'s tests to pass on this machine",
)
_OPENINGS = (
    "I'm working on `{repo}` in `{app}`. The code hasn't changed, but running the test suite "
    "in this environment now fails.",
    "The project in `{app}` (`{repo}`) used to pass all of its tests. Something in this "
    "machine's setup changed and now part of the suite fails.",
    "After some maintenance on this box, the `{repo}` test suite in `{app}` no longer passes. "
    "Nobody touched the repository.",
    "Our CI image for `{repo}` ({app}) went red. The repository is the same as in the last "
    "green run, so it must be the environment.",
)
_COMMAND_LINES = (
    "I run the tests as the unprivileged user `{user}`, in a login shell:",
    "This is how the suite is run (as `{user}`, login shell):",
    "Tests are run like this, as user `{user}`:",
)
_FAILING_LINES = (
    "{n} of {total} tests fail. Some of them:",
    "These tests fail ({n} of {total}):",
    "Failing tests ({n} out of {total}), for example:",
)
_ERROR_LINES = (
    "The errors look like this:",
    "Here is what the output shows:",
    "Excerpt of the failures:",
)
_ASKS = (
    "Please repair the environment so that the whole test suite passes again when run as "
    "`{user}` with the command above. Do not modify the project's source code or its tests: "
    "they, the interpreter and the installed packages are checked against the original.",
    "Fix whatever is wrong with the environment so that all tests pass again (same command, "
    "as `{user}`). The repository's code and tests must stay as they are, and the fix must "
    "repair the environment, not work around the test runner.",
    "Can you get the environment back into a state where the full suite passes for `{user}`? "
    "Changing the project's code or tests is not an option.",
)


def render_issue(
    task: Task, gold: GoldEnv, secrets: Secrets, seed: int = 0, writer: str = "template"
) -> IssueText:
    """Pure: the template issue of `task`; deterministic for (task, seed)."""
    rng = random.Random(f"{seed}:{task.id}")
    n, total = len(task.fail_to_pass), len(task.fail_to_pass) + len(task.pass_to_pass)
    fmt = {"repo": gold.name, "app": gold.layout.app_dir, "user": TEST_USER, "n": n, "total": total}
    listed = [redact(t, secrets) for t in task.fail_to_pass[:MAX_TESTS_LISTED]]
    tests = "\n".join(f"- `{t}`" for t in listed)
    if n > len(listed):
        tests += f"\n- ... and {n - len(listed)} more"
    parts = [
        rng.choice(_OPENINGS).format(**fmt),
        rng.choice(_COMMAND_LINES).format(**fmt) + f"\n\n```\n{test_command(gold)}\n```",
        rng.choice(_FAILING_LINES).format(**fmt) + "\n\n" + tests,
    ]
    excerpts = pick_excerpts(task.errors, secrets, rng)
    if excerpts:
        blocks = "\n\n".join(f"```\n{e}\n```" for e in excerpts)
        parts.append(rng.choice(_ERROR_LINES).format(**fmt) + "\n\n" + blocks)
    parts.append(rng.choice(_ASKS).format(**fmt))
    return IssueText(
        task_id=task.id,
        writer=writer,
        seed=seed,
        title=rng.choice(_TITLES).format(**fmt),
        body="\n\n".join(parts) + "\n",
        hints={level: redact(text, secrets) for level, text in task.hints.items()},
        created_at=datetime.now(UTC),
    )


def pick_excerpts(errors: Mapping[str, str], secrets: Secrets, rng: random.Random) -> list[str]:
    """Up to MAX_EXCERPTS excerpts with distinct last lines (different symptoms), redacted."""
    by_symptom: dict[str, str] = {}
    for nodeid in sorted(errors):
        text = clean_excerpt(errors[nodeid])
        if not text:
            continue
        last = text.splitlines()[-1]
        by_symptom.setdefault(last, text)
    keys = sorted(by_symptom)
    chosen = keys if len(keys) <= MAX_EXCERPTS else rng.sample(keys, MAX_EXCERPTS)
    return [redact(by_symptom[k], secrets) for k in sorted(chosen)]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def clean_excerpt(text: str) -> str:
    """The last EXCERPT_LINES meaningful lines of an error, without colour codes or blanks."""
    text = _ANSI.sub("", text)
    if "\n...\n" in text:  # an excerpt cut in the middle: its tail starts mid-line
        text = text.split("\n...\n", 1)[1].split("\n", 1)[-1]
    lines = [ln.rstrip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln.strip() and ln.strip() != "..."]
    # what the measuring run added to the documented command is not the user's to see
    lines = [ln for ln in lines if RESULTS_DIR not in ln and "--junitxml" not in ln]
    return "\n".join(lines[-EXCERPT_LINES:])


def check_issue(issue: IssueText, secrets: Secrets) -> list[str]:
    """Every leak in the title, body and hints (empty: the text may be published)."""
    found = find_leaks(issue.title + "\n" + issue.body, secrets)
    for level, text in issue.hints.items():
        found += [f"hint {level}: {why}" for why in find_leaks(text, secrets)]
    return found


def summarize_symptoms(issue: IssueText, limit: int = 120) -> str:
    """One line for tables: the title, cut to `limit` characters."""
    return issue.title if len(issue.title) <= limit else issue.title[: limit - 1] + "…"


def excerpt_lines(issue: IssueText) -> Sequence[str]:
    """The fenced excerpts of an issue body (for the manifest's error column)."""
    return re.findall(r"```\n(.*?)\n```", issue.body, flags=re.S)[1:]
