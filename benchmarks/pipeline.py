"""Whole-pipeline throughput over a corpus, and the speed-up of 2 workers over 1.

Usage: .venv/bin/python benchmarks/pipeline.py [--corpus corpora/default.toml] [--repos N]
       [--budget B] [--workers 1,2]
For each worker count, a fresh work directory runs `cligym run` on the first N repos of the
corpus (gold images are reused from Docker's build cache, so later passes do less building;
pass order is 2 then 1 so the single worker gets the warmer cache, which favours it). Prints:
- verified tasks per hour of wall time;
- speed-up of 2 workers over 1 (wall time ratio, same work);
- Docker overhead share: for every test run the pipeline made (gold runs, attempts, the four
  runs per verified candidate), the gold env's measured per-run overhead (wall minus pytest
  time), summed, over the wall time.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _results import machine, record, table

from cligym.api import Workspace
from cligym.config import Settings
from cligym.pipeline.run import LocalExecutor, run_pipeline
from cligym.pipeline.spec import load_pipeline
from cligym.report.page import overhead

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "default.toml")
    parser.add_argument("--repos", type=int, default=6)
    parser.add_argument("--budget", type=int, default=12)
    parser.add_argument("--workers", default="2,1")
    args = parser.parse_args()
    spec = load_pipeline(args.corpus)
    spec = spec.model_copy(
        update={"repos": spec.repos[: args.repos], "budget": args.budget, "export_format": "none"}
    )
    walls: dict[int, float] = {}
    rows: list[list[object]] = []
    print(f"{'workers':>7} {'repos ok':>8} {'tasks':>5} {'wall min':>8} {'tasks/h':>7} "
          f"{'docker overhead':>15}")
    for workers in (int(w) for w in args.workers.split(",")):
        with tempfile.TemporaryDirectory(prefix="cligym-bench-pipeline-") as tmp:
            ws = Workspace(Settings(workdir=Path(tmp)))
            ws.build_base()
            report = run_pipeline(ws, spec, executor=LocalExecutor(workers))
            walls[workers] = report.duration_sec
            golds = {g.id: g for g in ws.list_gold()}
            overhead_sec = 0.0
            for gold in golds.values():
                per_run = overhead(gold)[1]
                attempts = ws.catalog.list_attempts(gold.id)
                candidates = ws.catalog.list_candidates(gold.id)
                runs = gold.stability.runs + len(attempts) + 4 * len(candidates)
                overhead_sec += per_run * runs
            ok = sum(1 for r in report.repos if not r.error)
            share = overhead_sec / workers / report.duration_sec if report.duration_sec else 0
            print(f"{workers:>7} {ok:>8} {report.tasks:>5} {report.duration_sec / 60:>8.1f} "
                  f"{report.tasks_per_hour:>7.0f} {share:>14.0%}")
            rows.append([workers, ok, report.tasks, f"{report.duration_sec / 60:.1f} min",
                         f"{report.tasks_per_hour:.0f}", f"{share:.0%}"])
    summary = ""
    if 1 in walls and 2 in walls:
        print(f"speed-up of 2 workers over 1: {walls[1] / walls[2]:.2f}x")
        summary = f"\n\nSpeed-up of 2 workers over 1: **{walls[1] / walls[2]:.2f}x**."
    header = ["workers", "repos ok", "tasks", "wall", "tasks/h", "Docker overhead share"]
    record(
        "pipeline",
        f"{machine()} `{args.corpus.name}`, first {args.repos} repos, `--budget {args.budget}`."
        f"\n\n{table(header, rows)}{summary}",
    )


if __name__ == "__main__":
    main()
