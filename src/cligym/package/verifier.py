"""The verifier files every exported task carries (pure rendering, no Docker).

The verifier (1) puts back any of the repository's test files whose content changed, from the
task's own copy; (2) runs the gold test command exactly as the gold runs did: as the test user,
in a login shell, with the gold interpreter; (3) grades every FAIL_TO_PASS and PASS_TO_PASS test
from pytest's junit XML with `grade.py`. Harbor reads the reward file; Terminal-Bench parses
the `-rA` summary of a tiny pytest file that asserts the same grade.
"""

from __future__ import annotations

import json
import shlex
from importlib import resources

from cligym.gold.dockerfile import (
    APP_DIR,
    GOLD_PYTHON,
    JUNIT_PATH,
    RESULTS_DIR,
    TEST_USER,
    render_test_script,
)
from cligym.package.testfiles import ARCHIVE, KEEP, MANIFEST, TEST_LIKE_FIND
from cligym.records import GoldEnv, Task

GRADER = "grade.py"
JUNIT_MODULE = "junitxml.py"
EXPECTED = "expected.json"
HASH_SEED = "1"  # as in verification runs


def test_timeout_sec(gold: GoldEnv) -> int:
    """Bound for one verifier test run: generous over the gold runs' duration."""
    return int(max(300, 10 * gold.run_sec))


def render_expected(task: Task) -> str:
    return json.dumps(
        {"fail_to_pass": list(task.fail_to_pass), "pass_to_pass": list(task.pass_to_pass)},
        indent=1,
    )


def _prepare_and_run(gold: GoldEnv, logs: str) -> str:
    """Shell that restores test files and runs the suite; $HERE is the verifier's directory."""
    script = render_test_script(gold.recipe, with_metadata=False)
    timeout = test_timeout_sec(gold)
    return f"""\
# 1. delete test modules, conftest files and pytest configs gold did not have, then put back
#    test files whose content changed (mode changes are left to the agent)
( cd {APP_DIR} && {TEST_LIKE_FIND} ) | LC_ALL=C sort > /tmp/cligym-present.txt
LC_ALL=C sort "$HERE/{KEEP}" > /tmp/cligym-keep.txt
LC_ALL=C comm -23 /tmp/cligym-present.txt /tmp/cligym-keep.txt | while IFS= read -r f; do
  echo "removing $f (not a test file of the repository)"; rm -f -- "{APP_DIR}/$f"
done
rm -f /tmp/cligym-present.txt /tmp/cligym-keep.txt
changed=/tmp/cligym-changed-tests.txt
( cd {APP_DIR} && sha256sum --quiet -c "$HERE/{MANIFEST}" 2>/dev/null ) \\
  | sed -n 's/: FAILED.*$//p' > "$changed"
if [ -s "$changed" ]; then
  echo "restoring $(wc -l < "$changed") test file(s)"
  while IFS= read -r f; do  # content only: an existing file keeps its mode and owner
    if [ -e "{APP_DIR}/$f" ]; then tar -xzOf "$HERE/{ARCHIVE}" "$f" > "{APP_DIR}/$f"
    else tar -xzf "$HERE/{ARCHIVE}" -C {APP_DIR} "$f"; fi
  done < "$changed"
fi
rm -f "$changed"
# 2. the gold test command: as {TEST_USER}, login shell, junit XML to {RESULTS_DIR}
rm -rf {RESULTS_DIR}
cd {APP_DIR} && timeout -k 10 {timeout} env HOME=/home/{TEST_USER} PYTHONHASHSEED={HASH_SEED} \\
  /usr/sbin/runuser -u {TEST_USER} -- bash -lc {shlex.quote(script)} > "{logs}/pytest.txt" 2>&1
echo "pytest exit code: $?"
"""


def _python_finder() -> str:
    """Any interpreter that still starts (grading itself never needs the project's venv)."""
    return (
        'PY=""\n'
        "for p in /usr/bin/python3 /usr/local/bin/python3 /opt/venv/bin/python python3; do\n"
        '  if "$p" -c "import json, xml.etree.ElementTree" >/dev/null 2>&1; then PY=$p; break; fi\n'
        "done\n"
    )


def render_harbor_test_sh(task: Task, gold: GoldEnv) -> str:
    """tests/test.sh for Harbor: always writes /logs/verifier/reward.txt (1 or 0)."""
    logs = "/logs/verifier"
    return f"""#!/bin/bash
# cligym verifier for {task.name}: restore test files, run the gold tests, grade.
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p {logs}
echo 0 > {logs}/reward.txt
{_prepare_and_run(gold, logs)}
# 3. grade every FAIL_TO_PASS and PASS_TO_PASS test
{_python_finder()}if [ -n "$PY" ] && "$PY" -I "$HERE/{GRADER}" {JUNIT_PATH} "$HERE/{EXPECTED}" \\
     > {logs}/grade.txt 2>&1; then
  echo 1 > {logs}/reward.txt
fi
cat {logs}/grade.txt 2>/dev/null
echo "reward: $(cat {logs}/reward.txt)"
"""


def render_tb_run_tests(task: Task, gold: GoldEnv) -> str:
    """run-tests.sh for Terminal-Bench 1: its pytest parser reads the `-rA` summary."""
    logs = "/tmp/cligym-verifier"
    return f"""#!/bin/bash
# cligym verifier for {task.name}: restore test files, run the gold tests, grade.
HERE=${{TEST_DIR:-$(cd "$(dirname "$0")" && pwd)}}
mkdir -p {logs}
{_prepare_and_run(gold, logs)}
# 3. grade: a pytest file whose tests assert the grade, so the harness's parser can read it
cd "$HERE" && env -u PYTHONPATH PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 CLIGYM_JUNIT={JUNIT_PATH} \\
  {GOLD_PYTHON} -m pytest -rA \\
  -p no:cacheprovider --rootdir "$HERE" "$HERE/test_outputs.py"
"""


TB_TEST_OUTPUTS = '''"""Terminal-Bench view of the cligym grade: one test per group of tests."""

import json
import os
from pathlib import Path

from grade import grade

HERE = Path(__file__).parent
EXPECTED = json.loads((HERE / "expected.json").read_text())
JUNIT = Path(os.environ.get("CLIGYM_JUNIT", "/tmp/cligym-results/junit.xml"))


def _check(group):
    text = JUNIT.read_text(errors="replace") if JUNIT.is_file() else None
    ok, lines = grade(text, {group: EXPECTED[group]})
    assert ok, "\\n".join(lines)


def test_fail_to_pass():
    _check("fail_to_pass")


def test_pass_to_pass():
    _check("pass_to_pass")
'''


def grader_sources() -> dict[str, str]:
    """The grader and the junit walker it imports, as shipped files."""
    pkg = resources.files("cligym")
    return {
        GRADER: (pkg / "package" / "grade.py").read_text(),
        JUNIT_MODULE: (pkg / "gold" / "junitxml.py").read_text(),
    }


def render_solution(task: Task) -> str:
    """The verified specific solution as a script (run as root)."""
    body = "\n".join(task.solution)
    return f"#!/bin/bash\n# verified solution for {task.name}\nset -e\n{body}\n"
