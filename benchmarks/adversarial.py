"""The whole reward-hack sweep: every hack on one exported task of every fault family, in Harbor.

Usage: .venv/bin/python benchmarks/adversarial.py DATASET [--workdir DIR] [--jobs 2] [--skip F,..]
DATASET is a Harbor export (`cligym export --format harbor`). One task per family is picked
(single-fault tasks first); each hack of cligym/grading/hacks.py runs as that task's solution
under Harbor's oracle agent, and the oracle and nop agents run on the same tasks. Prints the
reward of every (family, hack) pair, the hacks that scored above 0 (there must be none), the
oracle/nop results, and the wall time per trial.
"""

from __future__ import annotations

import argparse
import time
import tomllib
from collections import Counter
from pathlib import Path

from _results import machine, record, table

from cligym.api import Workspace
from cligym.config import Settings
from cligym.grading.hacks import HACKS


def pick_one_per_family(dataset: Path) -> dict[str, str]:
    """family -> task dir name; a single-fault task wins over a composition."""
    picks: dict[str, tuple[int, str]] = {}
    for task_dir in sorted(p for p in dataset.iterdir() if (p / "task.toml").is_file()):
        meta = tomllib.loads((task_dir / "task.toml").read_text()).get("metadata", {})
        if meta.get("hint_level", "none") != "none":
            continue
        families = meta.get("families", [])
        for family in families:
            if family not in picks or len(families) < picks[family][0]:
                picks[family] = (len(families), task_dir.name)
    return {family: name for family, (_, name) in sorted(picks.items())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path("cligym-work"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip", default="",
                        help="comma-separated families to leave out (swept already)")
    args = parser.parse_args()
    ws = Workspace(Settings(workdir=args.workdir))
    skip = {f for f in args.skip.split(",") if f}
    picks = {f: t for f, t in pick_one_per_family(args.dataset).items() if f not in skip}
    names = sorted(set(picks.values()))
    print(f"{len(picks)} families in {len(names)} tasks, {len(HACKS)} hacks")
    start = time.monotonic()
    report = ws.validate_adversarial(args.dataset, names=names, concurrency=args.jobs)
    hacks_sec = time.monotonic() - start
    start = time.monotonic()
    validation = ws.validate(args.dataset, "harbor", names=names, concurrency=args.jobs)
    valid_sec = time.monotonic() - start
    by_task = {(o.task_name, o.hack): o for o in report.outcomes}
    print(f"\n{'family':28} " + " ".join(f"{i:>3}" for i in range(len(HACKS))))
    rows: list[list[object]] = []
    for family, task in picks.items():
        cells = []
        for hack in HACKS:
            o = by_task.get((task, hack.name))
            if o is None or o.reward is None:
                cells.append("  ?" if o is None else "  E")
            else:
                cells.append(f"{o.reward:3.0f}")
        print(f"{family:28} " + " ".join(cells))
        outcomes = [by_task.get((task, hack.name)) for hack in HACKS]
        zero = sum(1 for o in outcomes if o is not None and o.reward == 0)
        other = [f"{h.name} {c.strip()}" for h, c, o in zip(HACKS, cells, outcomes, strict=True)
                 if o is None or o.reward != 0]
        rows.append([family, f"`{task}`", f"{zero}/{len(HACKS)}", ", ".join(other) or "-"])
    print("\nhacks: " + ", ".join(f"{i}={h.name}" for i, h in enumerate(HACKS)))
    broken = report.broken
    print(f"\n{len(report.outcomes) - len(broken)}/{len(report.outcomes)} (task, hack) pairs "
          f"scored 0; above 0: {[(o.task_name, o.hack) for o in broken]}")
    errors = Counter(o.hack for o in report.outcomes if o.reward is None)
    print(f"trials that raised (no reward taken): {dict(errors) or 'none'}")
    valid = sum(r.valid for r in validation.results)
    print(f"oracle 1.0 and nop 0.0 on {valid}/{len(validation.results)} tasks; invalid: "
          f"{[(r.task_name, r.oracle.reward, r.nop.reward) for r in validation.invalid]}")
    trials = len(report.outcomes) + 2 * len(validation.results)
    print(f"wall: hacks {hacks_sec:.0f} s, oracle/nop {valid_sec:.0f} s, "
          f"{(hacks_sec + valid_sec) / max(1, trials):.1f} s per trial at {args.jobs} at once")
    record(
        "adversarial",
        f"{machine()} `{args.dataset.name}`: {len(picks)} families in {len(names)} tasks, "
        f"{len(HACKS)} hacks.\n\n"
        f"- **{len(report.outcomes) - len(broken)} of {len(report.outcomes)}** (task, hack) pairs "
        f"scored 0; above 0: {[(o.task_name, o.hack) for o in broken] or 'none'}\n"
        f"- trials that raised (no reward taken): {dict(errors) or 'none'}\n"
        f"- oracle 1.0 and nop 0.0 on {valid}/{len(validation.results)} tasks; invalid: "
        f"{[(r.task_name, r.oracle.reward, r.nop.reward) for r in validation.invalid] or 'none'}\n"
        f"- wall: hacks {hacks_sec:.0f} s, oracle/nop {valid_sec:.0f} s, "
        f"{(hacks_sec + valid_sec) / max(1, trials):.1f} s per trial at {args.jobs} at once"
        "\n\n" + table(["family", "task", "hacks scored 0", "above 0 (E: raised, ?: missing)"],
                       rows),
    )


if __name__ == "__main__":
    main()
