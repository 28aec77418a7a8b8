"""The whole family sweep: every fault family and every blocker through the verification
contract on the sample gold env (tests/docker/test_families.py with CLIGYM_SWEEP=1).

Usage: .venv/bin/python benchmarks/families.py [--no-record] [pytest args]
The test suite runs every family but only a sample of the blockers (each takes ~30 s); this
runs them all, prints one row per family with its outcome and seconds, and records the table
in docs/benchmarks.md (section families).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from _results import machine, record, table

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-record", action="store_true", help="print only")
    args, extra = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "families.xml"
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable, "-m", "pytest", "-q", "-p", "no:randomly",
                "tests/docker/test_families.py", f"--junitxml={junit}", *extra,
            ],
            cwd=ROOT,
            env={**os.environ, "CLIGYM_SWEEP": "1", "CI": "true"},
            check=False,
        )
        wall = time.monotonic() - started
        if not junit.is_file():
            raise SystemExit(f"pytest wrote no report (exit {proc.returncode})")
        rows = []
        for case in ET.parse(junit).getroot().iter("testcase"):
            test, _, family = case.get("name", "").partition("[")
            kind = "chain" if "chain" in test else "alone"
            failed = case.find("failure") is not None or case.find("error") is not None
            skipped = case.find("skipped") is not None
            outcome = "fail" if failed else "skipped" if skipped else "pass"
            rows.append((family.rstrip("]"), kind, outcome, f"{float(case.get('time', 0)):.0f}"))
    rows.sort()
    passed = sum(r[2] == "pass" for r in rows)
    summary = (
        f"{passed} of {len(rows)} passed the whole contract in {wall / 60:.1f} min "
        f"(pytest exit {proc.returncode})."
    )
    text = "\n\n".join(
        [machine(), summary, table(["family", "as", "outcome", "seconds"], rows)]
    )
    print(text)
    if not args.no_record:
        record("families", text)
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
