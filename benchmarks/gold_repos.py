"""Gold builds over real repositories cligym was not tuned on: success rate, build and test
time, and why each failure failed.

Usage: .venv/bin/python benchmarks/gold_repos.py [--list corpora/gold-benchmark.toml]
       [--workdir DIR] [--limit N] [--no-record]
Each repository of the list (a `cligym run` corpus file: its `[[repo]]` entries, `tests`, `k`
and `per_test_timeout` apply) gets `cligym gold` with two test runs, one after another so the
times are the build's own. A workdir that already holds some of them reuses those golds (the
times shown are then from the catalog record, not this run).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _results import machine, record, table

from cligym.api import Workspace
from cligym.config import Settings
from cligym.errors import CligymError
from cligym.gold.build import GoldRequest
from cligym.pipeline.spec import load_pipeline

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", type=Path, default=ROOT / "corpora" / "gold-benchmark.toml")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()
    spec = load_pipeline(args.list)
    repos = spec.repos[: args.limit]
    with tempfile.TemporaryDirectory(prefix="cligym-goldbench-") as tmp:
        ws = Workspace(Settings(workdir=args.workdir or Path(tmp)))
        ws.build_base()
        rows, built, wall = [], [], []
        for repo in repos:
            request = GoldRequest(
                spec=repo.source, runs=2, tests=repo.tests, keyword=repo.k,
                per_test_timeout=repo.per_test_timeout,
            )
            started = time.monotonic()
            try:
                gold = ws.gold(request).gold
            except CligymError as err:
                why = str(err).splitlines()[0].replace("|", "/")
                rows.append([repo.source.removeprefix("pypi:"), repo.kind, "no", "", "", "",
                             why[:140]])
                print(f"FAIL {repo.source}: {why}", flush=True)
                continue
            seconds = time.monotonic() - started
            wall.append(seconds)
            built.append(gold)
            stab = gold.stability
            notes = [f"{len(stab.failing)} failing, {len(stab.flaky)} flaky"] if (
                stab.failing or stab.flaky) else []
            if any(n.startswith("the build needs system packages") for n in gold.recipe.notes):
                notes.append(f"apt {' '.join(gold.recipe.apt_packages)} (the build log's)")
            if gold.recipe.project_release:
                notes.append("the release's wheel, the sdist's tests")
            rows.append([
                repo.source.removeprefix("pypi:"), repo.kind, "yes",
                f"{gold.build_duration_sec:.0f}", f"{gold.run_sec:.1f}",
                str(len(stab.stable_passing)), "; ".join(notes),
            ])
            print(f"ok   {repo.source}: {len(stab.stable_passing)} stable, build "
                  f"{gold.build_duration_sec:.0f} s, run {gold.run_sec:.1f} s", flush=True)
    ok = len(built)
    slow = [g for g in built if g.run_sec > 30]
    lines = [
        f"- **{ok}/{len(repos)} built** ({100 * ok / max(1, len(repos)):.0f}%) from "
        f"`{args.list.relative_to(ROOT) if args.list.is_relative_to(ROOT) else args.list}`",
    ]
    if built:
        lines.append(
            f"- build (image) median {statistics.median(g.build_duration_sec for g in built):.0f}"
            f" s; one test run median {statistics.median(g.run_sec for g in built):.1f} s, "
            f"{len(slow)} over 30 s; wall per repository median "
            f"{statistics.median(wall):.0f} s, total {sum(wall) / 60:.1f} min"
        )
    header = ["repository", "kind", "gold", "build s", "test run s", "stable", "notes"]
    text = "\n".join(lines) + "\n\n" + table(header, rows)
    print(text)
    if not args.no_record:
        record("gold-repos", f"{machine()}\n\n{text}")


if __name__ == "__main__":
    main()
