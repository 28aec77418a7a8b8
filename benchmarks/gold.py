"""Cold and warm gold builds, and where the time goes: Docker overhead vs pytest itself.

Usage: .venv/bin/python benchmarks/gold.py [SOURCE ...]
Default sources: the embedded sample and three PyPI sdists. Cold = `--rebuild` (no catalog, no
Docker build cache: the pip install runs again); warm = the same call again (catalog cache hit).
Overhead = the test phase's wall time minus the time pytest reports for its own suite.
"""

from __future__ import annotations

import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from _results import machine, record, table

from cligym.api import Workspace, sample_repo_path
from cligym.config import Settings
from cligym.gold.build import GoldRequest

DEFAULT_SOURCES = ["pypi:iniconfig==2.3.0", "pypi:tabulate==0.9.0", "pypi:cachetools==5.5.2"]


def pytest_seconds(artifacts: Path) -> float:
    """Sum of the suite times pytest itself reported in each run's junit XML."""
    total = 0.0
    for junit in sorted(artifacts.glob("junit-*.xml")):
        root = ET.parse(junit).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        total += sum(float(s.get("time", 0)) for s in suites)
    return total


def main(sources: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="cligym-bench-") as tmp:
        ws = Workspace(Settings(workdir=Path(tmp)))
        ws.build_base()
        header = (
            f"{'source':32} {'cold s':>7} {'build s':>8} {'tests s':>8} {'pytest s':>9} "
            f"{'overhead s':>10} {'ovh/pytest':>10} {'warm s':>7} {'cold/warm':>9} {'stable':>6}"
        )
        print(header)
        rows: list[list[object]] = []
        for spec in sources:
            start = time.monotonic()
            cold = ws.gold(GoldRequest(spec=spec, runs=2, min_tests=1, rebuild=True))
            cold_sec = time.monotonic() - start
            start = time.monotonic()
            warm = ws.gold(GoldRequest(spec=spec, runs=2, min_tests=1))
            warm_sec = time.monotonic() - start
            assert warm.cached, "second call must be a cache hit"
            gold = cold.gold
            in_pytest = pytest_seconds(ws.settings.paths.gold_artifacts(gold.id))
            overhead = gold.test_duration_sec - in_pytest
            ratio = overhead / in_pytest if in_pytest > 0 else float("inf")
            name = spec if len(spec) <= 32 else "…" + spec[-31:]
            stable = len(gold.stability.stable_passing)
            print(
                f"{name:32} {cold_sec:7.1f} {gold.build_duration_sec:8.1f} "
                f"{gold.test_duration_sec:8.1f} {in_pytest:9.2f} {overhead:10.2f} {ratio:10.2f} "
                f"{warm_sec:7.2f} {cold_sec / warm_sec:9.1f} {stable:6}",
                flush=True,
            )
            rows.append([
                f"`{name}`", f"{cold_sec:.1f}", f"{gold.build_duration_sec:.1f}",
                f"{gold.test_duration_sec:.1f}", f"{in_pytest:.2f}", f"{overhead:.2f}",
                f"{ratio:.2f}", f"{warm_sec:.2f}", f"{cold_sec / warm_sec:.1f}", stable,
            ])
            ws.runtime.remove_image(gold.image_tag)
    header_md = ["source", "cold s", "build s", "2 test runs s", "pytest s", "overhead s",
                 "overhead/pytest", "warm s", "cold/warm", "stable tests"]
    record("gold", f"{machine()}\n\n{table(header_md, rows)}")


if __name__ == "__main__":
    main(sys.argv[1:] or [str(sample_repo_path()), *DEFAULT_SOURCES])
