"""Shared pieces for tests that drive stages through FakeRuntime: a gold env, junit reports,
and the exact shell text every test run in a container is wrapped in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.sax.saxutils import quoteattr

from cligym.records import GoldEnv, StabilityReport
from cligym.runtime.fake import Call, Reply
from tests.unit.test_catalog import gold

TESTS = tuple(f"tests/test_m.py::test_{n}" for n in ("a", "b", "c", "d"))
RESULTS = "/run/cligym-results"
JUNIT = f"{RESULTS}/junit.xml"
MARKER = "=== cligym: steps applied ==="
PYTEST = (
    "cd /app && python -m pytest -p no:cacheprovider -o junit_family=xunit1 "
    "--junitxml=/run/cligym-results/junit.xml --continue-on-collection-errors -q -rN"
)


def as_tester(script: str) -> str:
    """Root's wrapper around a test script, written out literally (not rendered by the code
    under test), so a change in how tests are run shows up here."""
    quoted = "'" + script.replace("'", "'\"'\"'") + "'"
    return (
        "rm -rf /run/cligym-results && mkdir -p /run/cligym-results && "
        "chown tester:tester /run/cligym-results && cd /app && "
        f"exec env HOME=/home/tester /usr/sbin/runuser -u tester -- bash -lc {quoted}"
    )


def attempt_script(steps: Iterable[str], pytest: str = PYTEST) -> str:
    return "\n".join(
        ["set -e", *(f"( {s} )" for s in steps), "set +e", f"echo '{MARKER}'", as_tester(pytest)]
    )


def gold_env(tests: tuple[str, ...] = TESTS, run_sec: float = 1.0) -> GoldEnv:
    return gold("0123456789abcdef", name="demo").model_copy(
        update={
            "stability": StabilityReport(
                runs=2, stable_passing=tests, flaky=(), failing=(), skipped=()
            ),
            "test_duration_sec": run_sec * 2,
        }
    )


def junit(
    passed: Iterable[str] = (),
    failed: Mapping[str, str] | None = None,
    skipped: Iterable[str] = (),
) -> str:
    """A pytest (xunit1) report with these outcomes."""

    def case(nodeid: str, body: str = "") -> str:
        file, _, name = nodeid.partition("::")
        classname = file.removesuffix(".py").replace("/", ".")
        attrs = f"classname={quoteattr(classname)} name={quoteattr(name)} file={quoteattr(file)}"
        return f'<testcase {attrs} time="0.01">{body}</testcase>'

    cases = [case(n) for n in passed]
    cases += [
        case(n, f"<failure message={quoteattr(m)}>{m}</failure>")
        for n, m in (failed or {}).items()
    ]
    cases += [case(n, '<skipped message="skip"/>') for n in skipped]
    return f"<testsuites><testsuite>{''.join(cases)}</testsuite></testsuites>"


def pytest_reply(
    failed: Mapping[str, str] | None = None, tests: Iterable[str] = TESTS, output: str = ""
) -> Reply:
    """A test run whose steps applied: `failed` fail, the other tests pass."""
    failed = dict(failed or {})
    report = junit([t for t in tests if t not in failed], failed)
    return Reply(exit_code=1 if failed else 0, output=f"{MARKER}\n{output}",
                 files={JUNIT: report})


def is_pytest(call: Call) -> bool:
    return "python -m pytest" in call.script
