"""Disk bytes of a workspace's gold images: one shared archive vs one archive per gold env.

Usage: .venv/bin/python benchmarks/gold_archive.py --workdir DIR [--level 1]
Takes every gold env of the workspace whose image exists here (a corpus run's workdir) and
writes, into a temporary directory:
- shared = one `docker save` of them all (what `cligym export` writes: each layer once);
- per gold env = one `docker save` per image (what exports wrote before), summed.
Both gzip at the export's level. Prints the sizes, their ratio and the time each took.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _results import machine, record

from cligym.api import Workspace
from cligym.config import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--level", type=int, default=1, help="gzip level (the export's: 1)")
    args = parser.parse_args()
    ws = Workspace(Settings(workdir=args.workdir))
    tags = sorted({g.image_tag for g in ws.list_gold() if ws.runtime.image_exists(g.image_tag)})
    if not tags:
        raise SystemExit(f"no gold image of {args.workdir} exists here")
    with tempfile.TemporaryDirectory(prefix="cligym-bench-archive-") as tmp:
        start = time.monotonic()
        shared = ws.runtime.save_image(tags, Path(tmp) / "all.tar.gz", compresslevel=args.level)
        shared_sec = time.monotonic() - start
        start = time.monotonic()
        each = 0
        for tag in tags:
            one = Path(tmp) / "one.tar.gz"
            each += ws.runtime.save_image(tag, one, compresslevel=args.level)
            one.unlink()
        each_sec = time.monotonic() - start
    lines = [
        f"- gold images: {len(tags)} (workspace `{args.workdir.name}`), gzip level {args.level}",
        f"- one archive per gold env: {each / 1e9:.2f} GB in {each_sec:.0f} s",
        f"- one shared archive: {shared / 1e9:.2f} GB in {shared_sec:.0f} s",
        f"- per gold env / shared: **{each / shared:.1f}x**",
    ]
    print("\n".join(lines))
    record("gold-archive", f"{machine()}\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
