"""Every verified task of a workspace, exported with the package mirror and no way out, run by
Harbor's oracle and nop agents: each repair must work offline (oracle 1.0, nop 0.0).

Usage: .venv/bin/python benchmarks/offline.py --workdir DIR [--jobs 2] [--limit N] [--no-record]
       [--keep OUT]
DIR is a workspace with verified tasks (e.g. a `cligym run corpora/default.toml` run). Builds
the mirror images it lacks, exports every task (`--network mirror`, gold and mirror images
already local), validates them in Harbor, and prints the results by family, the tasks that
failed and why, and the time per trial.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from _results import machine, record, table

from cligym.api import Workspace
from cligym.config import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--no-record", action="store_true", help="print only")
    parser.add_argument("--keep", type=Path, default=None,
                        help="export here and keep it (e.g. for benchmarks/adversarial.py)")
    args = parser.parse_args()
    ws = Workspace(Settings(workdir=args.workdir))
    tasks = ws.list_tasks()[: args.limit]
    families = {t.name: t.families for t in tasks}
    with tempfile.TemporaryDirectory(prefix="cligym-offline-") as tmp:
        out = args.keep or Path(tmp) / "ds"
        started = time.monotonic()
        export = ws.export(out, "harbor", names=[t.name for t in tasks],
                           gold_images="none", network="mirror")
        export_sec = time.monotonic() - started
        started = time.monotonic()
        report = ws.validate(out, "harbor", concurrency=args.jobs)
        validate_sec = time.monotonic() - started
    valid = [r for r in report.results if r.valid]
    bad = [r for r in report.results if not r.valid]
    per_family: Counter[str] = Counter()
    per_family_ok: Counter[str] = Counter()
    for r in report.results:
        for fam in families.get(r.task_name, ()):
            per_family[fam] += 1
            per_family_ok[fam] += r.valid
    rows = [[fam, f"{per_family_ok[fam]}/{n}"] for fam, n in sorted(per_family.items())]
    trials = 2 * len(report.results)
    lines = [
        f"- exported {len(export.written)} tasks with the package mirror in {export_sec:.0f} s "
        f"(mirror images built as needed); skipped {len(export.skipped)}",
        f"- **oracle 1.0 and nop 0.0 on {len(valid)}/{len(report.results)}** tasks, no way out",
        f"- Harbor: {validate_sec:.0f} s, {validate_sec / max(trials, 1) * args.jobs:.1f} s per "
        f"trial at {args.jobs} at once",
    ]
    for r in bad:
        errors = "; ".join(e for e in (r.oracle.error, r.nop.error) if e)[:160]
        lines.append(f"  - {r.task_name}: oracle {r.oracle.reward}, nop {r.nop.reward} {errors}")
    text = "\n".join(lines) + "\n\n" + table(["family (membership)", "valid"], rows)
    print(text)
    if not args.no_record:
        record("offline", f"{machine()} Workspace `{args.workdir}`.\n\n{text}")


if __name__ == "__main__":
    main()
