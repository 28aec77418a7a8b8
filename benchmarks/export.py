"""Disk bytes of a Harbor export with shared gold images vs one flattened image per task.

Usage: .venv/bin/python benchmarks/export.py [--tasks 50] [--workdir DIR] [SOURCE ...]
Builds gold envs (default: the embedded sample and tabulate), inverts and verifies until there
are --tasks verified tasks (or the budget runs out), exports them to Harbor with each gold image
saved once, and compares with shipping every task as its own flattened image:
- shared = the export directory as written (task dirs + one gzip `docker save` of the gold
  images, each layer once);
- flattened = the sum over tasks of `docker save` of the task's built image (all layers),
  counted uncompressed and scaled by the measured gzip ratio of the gold image.
Also prints the export time and the export's bytes per task.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _results import machine, record

from cligym.api import Workspace, sample_repo_path
from cligym.config import Settings
from cligym.gold.build import GoldRequest

DEFAULT_SOURCES = ["pypi:tabulate==0.9.0"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sources", nargs="*")
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--budget", type=int, default=90, help="attempts per gold env")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    sources = args.sources or [str(sample_repo_path()), *DEFAULT_SOURCES]
    with tempfile.TemporaryDirectory(prefix="cligym-bench-export-") as tmp:
        ws = Workspace(Settings(workdir=args.workdir or Path(tmp) / "work"))
        ws.build_base()
        for source in sources:
            gold = ws.gold(GoldRequest(spec=source, runs=2)).gold
            ws.probe(gold.id)
            if len(ws.list_tasks()) < args.tasks:
                ws.invert(gold.id, budget=args.budget)
                ws.verify(gold.id)
        tasks = ws.list_tasks()[: args.tasks]
        names = [t.name for t in tasks]
        start = time.monotonic()
        report = ws.export(Path(tmp) / "harbor", "harbor", names=names)
        export_sec = time.monotonic() - start
        gold_raw = ws.runtime.save_image([img.image_tag for img in report.gold_images], None)
        gold_gz = report.images_bytes
        gz_ratio = gold_gz / gold_raw
        flat_raw = sum(ws.runtime.save_image(t.image_tag, None) for t in tasks)
        flat_gz = flat_raw * gz_ratio
        per_task = (report.bytes_total - gold_gz) / len(tasks)
        print(f"tasks exported:              {len(report.written)} "
              f"from {len(report.gold_images)} gold env(s) in {export_sec:.0f} s")
        print(f"shared export:               {report.bytes_total / 1e6:9.1f} MB "
              f"(gold images {gold_gz / 1e6:.1f} MB, task dirs {per_task / 1e3:.1f} kB each)")
        print(f"flattened, one image/task:   {flat_gz / 1e6:9.1f} MB (gzip-equivalent; "
              f"{flat_raw / 1e6:.0f} MB raw, {flat_raw / len(tasks) / 1e6:.0f} MB raw per task)")
        print(f"flattened / shared:          {flat_gz / report.bytes_total:9.1f}x")
    record(
        "export",
        f"{machine()} `--tasks {args.tasks} --budget {args.budget}`.\n\n"
        f"- tasks exported: {len(report.written)} from {len(report.gold_images)} gold env(s) "
        f"in {export_sec:.0f} s\n"
        f"- shared export: {report.bytes_total / 1e6:.1f} MB (gold images {gold_gz / 1e6:.1f} MB, "
        f"task dirs {per_task / 1e3:.1f} kB each)\n"
        f"- flattened, one image per task: {flat_gz / 1e6:.1f} MB (gzip-equivalent; "
        f"{flat_raw / 1e6:.0f} MB raw, {flat_raw / len(tasks) / 1e6:.0f} MB raw per task)\n"
        f"- flattened / shared: **{flat_gz / report.bytes_total:.1f}x**",
    )


if __name__ == "__main__":
    main()
