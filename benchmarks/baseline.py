"""How many verified tasks blind repair scripts solve: the baseline ladder over a work directory.

Usage: .venv/bin/python benchmarks/baseline.py [--workdir cligym-work] [--jobs 2] [--limit N]
Climbs the ladder (cligym baseline) on every verified task of the work directory, resuming from
stored results, then prints the share of tasks each rung solves (cumulative: a rung includes
those below it), the same per fault family, how many tasks need at least 3 ordered repair
steps, and how many show an error that does not name what was broken.
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
from cligym.difficulty.measure import ladder_label, names_culprit, repair_steps


def _pct(n: int, total: int) -> str:
    return f"{n}/{total} ({100 * n / total:.0f}%)" if total else "0/0"


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
    labels = {t.id: ladder_label(results.get(t.id, [])) for t in tasks}
    total = len(tasks)
    order = [r.name for r in LADDER]
    lines = []
    solved = 0
    for rung in LADDER:
        solved += sum(1 for v in labels.values() if v == rung.name)
        lines.append(f"- rung {rung.level} `{rung.name}` ({rung.summary}): solves "
                     f"{_pct(solved, total)}")
    unmeasured = sum(1 for v in labels.values() if v == "-")
    none = sum(1 for v in labels.values() if v == "none")
    lines.append(f"- no rung solves {_pct(none, total)}; not measured {unmeasured}")
    steps3 = sum(1 for t in tasks if repair_steps(t) >= 3)
    quiet = sum(1 for t in tasks if not names_culprit(t))
    lines.append(f"- tasks needing >= 3 ordered repair steps: {_pct(steps3, total)}")
    lines.append(f"- tasks whose error does not name what was broken: {_pct(quiet, total)}")
    runs = [r for rs in results.values() for r in rs]
    lines.append(f"- {len(runs)} rung runs, wall {wall:.0f} s at {args.jobs} at once "
                 f"(stored results reused)")
    by_family: dict[str, Counter[str]] = defaultdict(Counter)
    for t in tasks:
        by_family["+".join(t.families)][labels[t.id]] += 1
    rows = []
    for fam, counts in sorted(by_family.items()):
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
        f"{machine()} `{args.workdir}`: {total} verified tasks.\n\n" + "\n".join(lines)
        + "\n\nSolved by each rung, cumulative, per family:\n\n"
        + table(["family", "tasks", *order, "none"], rows),
    )


if __name__ == "__main__":
    main()
