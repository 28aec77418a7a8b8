"""The verifier files every exported task carries (pure rendering, no Docker).

tests/test.sh runs under the static busybox shipped beside it (its `#!` line), so no shell,
tool or library of the container runs before the container has been checked:
1. the reward files are removed and reward 0 written, so a planted reward or symlink is void;
2. every process left from the agent phase is stopped and killed (`reap.sh`);
3. the gold interpreter, its loader, libraries and standard library are checked byte for byte
   against the gold manifest with busybox's sha256sum, and nothing may have been added where
   it imports from;
4. grader.py runs under a private copy of that interpreter started through the verified loader
   (no loader cache, no environment, no site, bytecode caches bypassed). It checks the grading
   path against the manifest, runs the documented test command and grades the junit report;
5. processes are reaped again and the reward is written: 1 only when grader.py passed.
See docs/threat-model.md for what each step defends against.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

from cligym.grading.kit import MANIFEST_FILE, GradeKit, shipped_sources
from cligym.records import GoldEnv, Task

GRADER = "grader.py"
JUNIT_MODULE = "junitxml.py"
EXPECTED = "expected.json"
BOOT_SHA256 = "boot.sha256"
STDLIB_LIST = "stdlib.list"
REAP = "reap.sh"
HARBOR_LOGS = "/logs/verifier"


def verifier_timeout_sec(gold: GoldEnv) -> int:
    """Bound for one verifier test run: generous over the gold runs' duration."""
    return int(max(300, 10 * gold.run_sec))


def render_expected_lists(fail_to_pass: Sequence[str], pass_to_pass: Sequence[str]) -> str:
    return json.dumps(
        {"fail_to_pass": list(fail_to_pass), "pass_to_pass": list(pass_to_pass)}, indent=1
    )


REAP_SH = """\
# Stop and kill every process but PID 1, this script's ancestors (the harness's exec) and, when
# PID 1 is an init, the container's own command with its children (PID 1's first child:
# killing it ends the container). Processes an agent left behind are exec'd (parent 0) or
# orphans adopted by PID 1 after the container started, so none of them is spared.
# Run with busybox: `busybox sh reap.sh`.
B=${B:-${0%/*}/busybox}
keep=" 0 1 $$ "
p=$$
while [ "$p" -gt 1 ]; do
  p=$($B sed -n 's/^PPid:[[:space:]]*//p' /proc/$p/status 2>/dev/null)
  [ -n "$p" ] || break
  keep="$keep$p "
done
case "$($B cat /proc/1/comm 2>/dev/null)" in
  docker-init|tini|dumb-init|catatonit)
    # cat, not awk, reads the files: busybox awk stops at a file that vanished (a process
    # that ended meanwhile), and the container's own command would go unlisted
    keep="$keep$($B cat /proc/[0-9]*/status 2>/dev/null \\
      | $B awk '/^Name:/ {p = ""} /^Pid:/ {p = $2} /^PPid:/ {if (p != "") print p, $2}' \\
      | $B awk '{par[$1] = $2; if ($2 == 1 && (m == "" || $1 + 0 < m + 0)) m = $1}
          END {for (p in par) {q = p; while ((q in par) && q != m && q > 1) q = par[q]
                               if (q == m && m != "") printf "%s ", p}}')" ;;
esac
for round in 1 2 3 4 5; do
  pids=""
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    case "$keep" in *" $pid "*) ;; *) pids="$pids $pid" ;; esac
  done
  [ -n "$pids" ] || break
  $B kill -STOP $pids 2>/dev/null
  $B kill -KILL $pids 2>/dev/null
  $B sleep 0.2
done
"""


def render_test_sh(name: str, manifest: dict[str, Any], timeout_sec: int, logs: str) -> str:
    """tests/test.sh: always leaves `logs`/reward.txt (1 or 0) and never a reward.json."""
    boot = manifest["boot"]
    stdlib_roots = " ".join(shlex.quote(r) for r in boot["stdlib_roots"])
    absent = " ".join(shlex.quote(p) for p in boot["absent"])
    lib_path = ":".join(manifest["lib_dirs"])
    return f"""#!/tests/busybox sh
# cligym verifier for {name}. It trusts only this directory, copied in after the agent:
# the static busybox it runs under, the gold manifest and the grader.
T=/tests
B=$T/busybox
L=${{CLIGYM_VERIFIER_LOGS:-{logs}}}
$B mkdir -p "$L"
$B rm -rf "$L/reward.txt" "$L/reward.json"
echo 0 > "$L/reward.txt"
fail() {{ echo "integrity: $*"; echo "RESULT: FAIL"; echo "reward: 0"; exit 0; }}
[ -n "$CLIGYM_KEEP_PROCESSES" ] || B=$B $B sh $T/{REAP}
W=$($B mktemp -d /run/cligym-grade.XXXXXX) || fail "cannot create a scratch directory"
# the interpreter that grades: gold's binary, loader, libraries and standard library
( cd / && $B sha256sum -c $T/{BOOT_SHA256} ) > "$W/boot.txt" 2>&1 || {{
  $B grep -v ': OK$' "$W/boot.txt" | $B head -n 20
  fail "the interpreter, its libraries or its standard library differ from the original"
}}
$B find {stdlib_roots} ! -type d ! -name '*.pyc' 2>/dev/null | LC_ALL=C $B sort -u > "$W/stdlib.txt"
$B cmp -s "$W/stdlib.txt" $T/{STDLIB_LIST} || {{
  $B diff $T/{STDLIB_LIST} "$W/stdlib.txt" | $B grep '^[-+]/' | $B head -n 20
  fail "files were added to or removed from the standard library"
}}
for f in {absent}; do
  if [ -e "$f" ] || [ -L "$f" ]; then fail "$f exists; the original environment has none"; fi
done
$B cp {shlex.quote(manifest["interpreter"])} "$W/python" || fail "cannot copy the interpreter"
$B env -i PYTHONHOME={shlex.quote(manifest["python_home"])} \\
  {shlex.quote(manifest["loader"])} --inhibit-cache --library-path {shlex.quote(lib_path)} \\
  "$W/python" -s -S -B -X pycache_prefix="$W/pyc" $T/{GRADER} grade \\
  $T/gold-manifest.json.gz $T/{EXPECTED} {timeout_sec} > "$W/grade.txt" 2>&1
rc=$?
[ -n "$CLIGYM_KEEP_PROCESSES" ] || B=$B $B sh $T/{REAP}
$B rm -rf "$L/reward.txt" "$L/reward.json" "$L/grade.txt"
if [ "$rc" -eq 0 ]; then echo 1 > "$L/reward.txt"; else echo 0 > "$L/reward.txt"; fi
$B cp "$W/grade.txt" "$L/grade.txt"
$B cat "$W/grade.txt"
$B rm -rf "$W"
echo "reward: $($B cat "$L/reward.txt")"
"""


TB_RUN_TESTS = """#!/bin/bash
# cligym verifier: the grade comes from test.sh (busybox, gold-verified grader)
chmod 755 /tests/test.sh /tests/busybox 2>/dev/null
# TB drives the container through its own tmux processes: they must survive, so no reaping
CLIGYM_KEEP_PROCESSES=1 CLIGYM_VERIFIER_LOGS=/tmp/cligym-verifier /tests/test.sh
cd /tests && /tests/busybox env -i CLIGYM_REWARD=/tmp/cligym-verifier/reward.txt \\
  {python} -I -m pytest -rA -p no:cacheprovider --rootdir /tests /tests/test_outputs.py
"""
"""run-tests.sh for Terminal-Bench 1 (format with the gold env's `python`): the same
verifier, whose reward a tiny pytest file asserts, so the harness's `-rA` parser can read it."""


TB_TEST_OUTPUTS = '''"""Terminal-Bench view of the cligym grade."""

import os
from pathlib import Path


def test_grade():
    reward = Path(os.environ.get("CLIGYM_REWARD", "/tmp/cligym-verifier/reward.txt"))
    assert reward.is_file() and reward.read_text().strip() == "1", "see the verifier output"
'''


def render_tests_dir(
    kit: GradeKit, name: str, fail_to_pass: Sequence[str], pass_to_pass: Sequence[str],
    timeout_sec: int,
) -> dict[str, bytes]:
    """Relative path -> content of a task's tests/ directory (what the harness copies in)."""
    files = {n: t.encode() for n, t in shipped_sources().items()}
    files["test.sh"] = render_test_sh(name, kit.manifest, timeout_sec, "/logs/verifier").encode()
    files[EXPECTED] = render_expected_lists(fail_to_pass, pass_to_pass).encode()
    files[MANIFEST_FILE] = kit.manifest_gz
    files[BOOT_SHA256] = kit.boot_sha256().encode()
    files[STDLIB_LIST] = kit.stdlib_listing().encode()
    files[REAP] = REAP_SH.encode()
    files["busybox"] = kit.busybox
    return files


EXECUTABLE_TESTS = {"test.sh", "busybox"}


def render_solution(task: Task) -> str:
    """The verified specific solution as a script (run as root)."""
    body = "\n".join(task.solution)
    return f"#!/bin/bash\n# verified solution for {task.name}\nset -e\n{body}\n"
