"""How many verified tasks blind repair scripts solve: the baseline ladder over a work directory.

Usage: .venv/bin/python benchmarks/baseline.py [--workdir cligym-work] [--jobs 2] [--limit N]
Climbs the ladder (cligym baseline) on every verified task of the work directory, resuming from
stored results, then prints the share of tasks each rung solves (cumulative: a rung includes
those below it), the same per fault family, how many tasks need at least 3 ordered repair
steps, how many show an error that does not name what was broken, and how the families and
categories spread.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from pathlib import Path

from _results import machine, record, table

from cligym.api import Workspace
from cligym.config import Settings
from cligym.difficulty.ladder import LADDER
from cligym.difficulty.measure import ladder_label
from cligym.difficulty.summary import summarize


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, default=Path("cligym-work"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    ws = Workspace(Settings(workdir=args.workdir))
    tasks = ws.list_tasks()[: args.limit]
    start = time.monotonic()
    results = ws.baseline(limit=args.limit, jobs=args.jobs)
    wall = time.monotonic() - start
    summary = summarize(tasks, results)
    attempts = len(ws.catalog.list_attempts())
    lines = summary.lines()
    lines.append(f"- yield: {summary.tasks} verified tasks from {attempts} attempts "
                 f"({100 * summary.tasks / max(1, attempts):.0f}%)")
    runs = [r for rs in results.values() for r in rs]
    lines.append(f"- {len(runs)} rung runs, wall {wall:.0f} s at {args.jobs} at once "
                 f"(stored results reused)")
    order = [r.name for r in LADDER]
    # per family: the tasks it is part of (a chain counts for each of its families)
    by_family: dict[str, Counter[str]] = defaultdict(Counter)
    for t in tasks:
        for fam in set(t.families):
            by_family[fam][ladder_label(results.get(t.id, []))] += 1
    rows = []
    for fam, counts in sorted(by_family.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        n = sum(counts.values())
        cells = []
        cumulative = 0
        for name in order:
            cumulative += counts[name]
            cells.append(f"{cumulative}/{n}")
        rows.append([fam, n, *cells, counts["none"]])
    print("\n".join(lines))
    print(table(["family", "tasks", *order, "none"], rows))
    record(
        "baseline",
        f"{machine()} `{args.workdir}`: {summary.tasks} verified tasks.\n\n" + "\n".join(lines)
        + "\n\nSolved by each rung, cumulative, per family (a task counts for each of its "
        "families):\n\n"
        + table(["family", "tasks", *order, "none"], rows),
    )


if __name__ == "__main__":
    main()
