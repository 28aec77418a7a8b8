"""The documented test command, and how root runs it as the test user in a login shell.

Gold runs, the probe, inversion attempts, verification and the exported verifier all measure
with these, so a task fails for exactly the command its issue text quotes.
"""

from __future__ import annotations

import shlex

from cligym.records import Layout, RecipeSpec
from cligym.testbed.layout import JUNIT_PATH, RESULTS_DIR, TEST_USER


def _q(value: str) -> str:
    return shlex.quote(value)


REPORTING_ARGS = (
    "-p",
    "no:cacheprovider",
    "-o",
    "junit_family=xunit1",
    f"--junitxml={JUNIT_PATH}",
    "--continue-on-collection-errors",
    "-q",
    "-rN",
)
"""Appended to the documented command: where the report goes and how much is printed. They
change no test's outcome (xunit1 keeps file paths, so node ids can be rebuilt exactly)."""


def timeout_args(recipe: RecipeSpec) -> tuple[str, ...]:
    """pytest-timeout's per-test limit (gold installs the plugin): a test that hangs fails
    alone instead of stopping the whole run. Without the plugin pytest ignores the option."""
    if recipe.per_test_timeout_sec <= 0:
        return ()
    return ("-o", f"timeout={recipe.per_test_timeout_sec}")


def render_user_command(recipe: RecipeSpec, layout: Layout) -> str:
    """The test command as a user would type it (the issue text quotes it), per-test limit
    included: `python` is whatever the test user's login shell finds on PATH."""
    args = (*recipe.pytest_args, *timeout_args(recipe))
    return " ".join(["cd", _q(layout.app_dir), "&&", "python", "-m", "pytest", *map(_q, args)])


def render_test_script(
    recipe: RecipeSpec, layout: Layout, with_metadata: bool, extra_args: tuple[str, ...] = ()
) -> str:
    """Run in the test user's login shell: optional metadata, then exactly the documented
    command plus the reporting options (the runtime bounds the whole run). `extra_args` come
    last, so a later `-o timeout=...` overrides the documented one."""
    parts = []
    if with_metadata:
        parts += [
            "python -c 'import platform; print(platform.python_version())' "
            f"> {RESULTS_DIR}/python.txt",
            f"pip freeze --all > {RESULTS_DIR}/freeze.txt 2>/dev/null",
        ]
    args = " ".join(_q(a) for a in (*REPORTING_ARGS, *extra_args))
    parts.append(f"{render_user_command(recipe, layout)} {args}")
    return "; ".join(parts)


def render_as_tester(script: str, layout: Layout) -> str:
    """Root's side of every test run (gold, probe, attempts, verification, the verifier):
    a fresh results directory for the test user, then the script as that user in a login
    shell, exactly as `runuser -u tester -- bash -lc '...'` in the issue text."""
    return (
        f"rm -rf {RESULTS_DIR} && mkdir -p {RESULTS_DIR} && "
        f"chown {TEST_USER}:{TEST_USER} {RESULTS_DIR} && cd {_q(layout.app_dir)} && "
        f"exec env HOME=/home/{TEST_USER} /usr/sbin/runuser -u {TEST_USER} -- "
        f"bash -lc {_q(script)}"
    )


def render_test_command(script: str, layout: Layout) -> list[str]:
    """argv of a test container started as root: the script as the test user's login shell
    (profile files apply)."""
    return ["bash", "-c", render_as_tester(script, layout)]
