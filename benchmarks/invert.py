"""Inversion yield and speed: verified tasks per attempt, attempt time vs the Docker floor.

Usage: .venv/bin/python benchmarks/invert.py [--budget N] [SOURCE ...]
Default sources: the embedded sample and two PyPI sdists. For each: gold -> invert -> verify, then
- yield = verified tasks / attempts (the reference paper's agent: 40.7 %);
- attempt/floor = median seconds per attempt / the floor measured in the same run: one
  `docker run --rm` of the gold image running the same tests (median of 3);
- verified tasks per hour of the whole invert + verify wall time;
- category histogram and median image bytes a task adds over its gold image.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from _results import machine, record, table

from cligym.api import Workspace, sample_repo_path
from cligym.config import Settings
from cligym.gold.build import GoldRequest
from cligym.records import GoldEnv
from cligym.testbed.command import render_test_command, render_test_script
from cligym.testbed.layout import TEST_USER

DEFAULT_SOURCES = ["pypi:tabulate==0.9.0", "pypi:cachetools==5.5.2"]


def floor_seconds(ws: Workspace, gold: GoldEnv) -> float:
    times = []
    for _ in range(3):
        start = time.monotonic()
        ws.runtime.run(
            gold.image_tag,
            render_test_command(render_test_script(gold.recipe, gold.layout, False), gold.layout),
            stage="bench",
            timeout_sec=600,
            user=TEST_USER,
            workdir=gold.layout.app_dir,
            env={"HOME": f"/home/{TEST_USER}"},
            network=False,
        )
        times.append(time.monotonic() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sources", nargs="*")
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sources = args.sources or [str(sample_repo_path()), *DEFAULT_SOURCES]
    with tempfile.TemporaryDirectory(prefix="cligym-bench-") as tmp:
        ws = Workspace(Settings(workdir=Path(tmp)))
        ws.build_base()
        print(
            f"{'source':28} {'attempts':>8} {'cands':>5} {'tasks':>5} {'yield':>6} "
            f"{'att s':>6} {'floor s':>7} {'ratio':>5} {'tasks/h':>7} {'MB/task':>7} "
            f"{'families':>8}  categories"
        )
        rows: list[list[object]] = []
        notes: list[str] = []
        for spec in sources:
            gold = ws.gold(GoldRequest(spec=spec, runs=2, min_tests=5)).gold
            ws.probe(gold.id)
            started = time.monotonic()
            report = ws.invert(gold.id, budget=args.budget, seed=args.seed)
            results = ws.verify(gold.id)
            wall = time.monotonic() - started
            tasks = ws.list_tasks(gold.id)
            floor = floor_seconds(ws, gold)
            per_attempt = statistics.median(a.duration_sec for a in report.attempts)
            cats = Counter(c.value for t in tasks for c in set(t.categories))
            fams = {f for t in tasks for f in t.families}
            mb = statistics.median(t.image_bytes_added for t in tasks) / 2**20 if tasks else 0.0
            name = spec if len(spec) <= 28 else "…" + spec[-27:]
            print(
                f"{name:28} {len(report.attempts):8} {len(report.candidates):5} {len(tasks):5} "
                f"{len(tasks) / max(1, len(report.attempts)):6.0%} {per_attempt:6.2f} "
                f"{floor:7.2f} {per_attempt / floor:5.2f} {len(tasks) * 3600 / wall:7.0f} "
                f"{mb:7.3f} {len(fams):8}  "
                + ", ".join(f"{k} {v}" for k, v in sorted(cats.items())),
                flush=True,
            )
            rows.append([
                f"`{name}`", len(report.attempts), len(report.candidates), len(tasks),
                f"{len(tasks) / max(1, len(report.attempts)):.0%}", f"{per_attempt:.2f}",
                f"{floor:.2f}", f"{per_attempt / floor:.2f}", f"{len(tasks) * 3600 / wall:.0f}",
                f"{mb:.3f}", len(fams), ", ".join(f"{k} {v}" for k, v in sorted(cats.items())),
            ])
            per_family = Counter(f for t in tasks for f in set(t.families))
            top = per_family.most_common(1)[0] if per_family else ("-", 0)
            print(
                f"    largest family: {top[0]} in {top[1]} of {len(tasks)} tasks "
                f"({top[1] / max(1, len(tasks)):.0%}); mean MB/task "
                f"{statistics.mean(t.image_bytes_added for t in tasks) / 2**20 if tasks else 0:.3f}"
            )
            mean_mb = statistics.mean(t.image_bytes_added for t in tasks) / 2**20 if tasks else 0
            notes.append(
                f"`{name}`: largest family {top[0]} in {top[1]} of {len(tasks)} tasks "
                f"({top[1] / max(1, len(tasks)):.0%}); mean MB/task {mean_mb:.3f}"
            )
            rejected = Counter(str(r.rejection) for r in results if not r.ok)
            if rejected:
                print(
                    "    rejected in verification: "
                    + ", ".join(f"{k} x{v}" for k, v in rejected.most_common())
                )
                notes[-1] += "; rejected in verification: " + ", ".join(
                    f"{k} x{v}" for k, v in rejected.most_common()
                )
            for task in tasks:
                ws.runtime.remove_image(task.image_tag)
            ws.runtime.remove_image(gold.image_tag)
    header = ["source", "attempts", "candidates", "verified", "yield", "s/attempt", "floor s",
              "ratio", "tasks/h", "MB/task", "families", "categories"]
    record(
        "invert",
        f"{machine()} `--budget {args.budget} --seed {args.seed}`.\n\n{table(header, rows)}\n\n"
        + "\n".join(f"- {note}" for note in notes),
    )


if __name__ == "__main__":
    main()
