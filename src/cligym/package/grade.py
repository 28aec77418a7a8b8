"""Grader shipped in exported tasks: did every FAIL_TO_PASS and PASS_TO_PASS test pass?

Standard library only. Run inside the task container after the tests:
    python3 grade.py JUNIT_XML EXPECTED_JSON
Exit 0 when all expected tests passed, 1 otherwise (a summary goes to stdout). A test that is
missing from the report, skipped, failed or errored counts as not passed; so does a report that
is missing or unreadable, so a broken interpreter or runner can never grade as success.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__:  # imported from the cligym package
    from cligym.gold.junitxml import JunitParseError, outcomes
else:  # a file of an exported task, next to junitxml.py (run with -I: no cwd on the path)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from junitxml import JunitParseError, outcomes  # type: ignore[no-redef]


def grade(junit_text: str | None, expected: dict[str, list[str]]) -> tuple[bool, list[str]]:
    """(all passed, report lines) for the expected FAIL_TO_PASS and PASS_TO_PASS tests."""
    if not junit_text:
        return False, ["no junit report: the test runner did not run"]
    try:
        seen = outcomes(junit_text)
    except JunitParseError as err:
        return False, [f"unreadable junit report: {err}"]
    lines = []
    ok = True
    for group in ("fail_to_pass", "pass_to_pass"):
        wanted = expected.get(group, [])
        bad = [t for t in wanted if seen.get(t) != "passed"]
        ok = ok and not bad
        lines.append(f"{group}: {len(wanted) - len(bad)}/{len(wanted)} passed")
        lines += [f"  not passed ({seen.get(t, 'missing')}): {t}" for t in bad[:50]]
    return ok, lines


def main(argv: list[str]) -> int:
    junit_path, expected_path = Path(argv[1]), Path(argv[2])
    expected = json.loads(expected_path.read_text())
    text = junit_path.read_text(errors="replace") if junit_path.is_file() else None
    ok, lines = grade(text, expected)
    print("\n".join(lines))
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
