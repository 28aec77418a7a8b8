"""Pipeline specs and the report page, without Docker."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from cligym.errors import CligymError
from cligym.pipeline.spec import load_pipeline
from cligym.report.page import ReportData, funnel, render_report
from cligym.report.svg import bar_chart, histogram
from tests.unit.test_catalog import gold


def test_pipeline_toml_is_validated(tmp_path: Path):
    path = tmp_path / "p.toml"
    path.write_text('[pipeline]\nbudget = 5\n[[repo]]\nsource = "pypi:a"\n'
                    '[[repo]]\nsource = "pypi:b"\nbudget = 9\n')
    spec = load_pipeline(path)
    assert [spec.budget_of(r) for r in spec.repos] == [5, 9]
    path.write_text('[pipeline]\nbudget = 0\n[[repo]]\nsource = "x"\n')
    with pytest.raises(CligymError, match="budget"):
        load_pipeline(path)
    path.write_text("[pipeline]\n")
    with pytest.raises(CligymError, match="repos"):
        load_pipeline(path)
    path.write_text("not toml [")
    with pytest.raises(CligymError, match="not valid TOML"):
        load_pipeline(path)
    with pytest.raises(CligymError, match="not found"):
        load_pipeline(tmp_path / "missing.toml")


def test_default_corpus_is_valid_and_varied():
    spec = load_pipeline(Path(__file__).parents[2] / "corpora" / "default.toml")
    assert len(spec.repos) >= 40
    assert len({r.source for r in spec.repos}) == len(spec.repos)
    assert all(re.match(r"^pypi:[\w.-]+==[\w.]+$", r.source) for r in spec.repos), "pinned"
    assert len({r.kind for r in spec.repos}) >= 6


def test_the_gold_benchmark_is_other_repositories_than_the_corpus():
    corpora = Path(__file__).parents[2] / "corpora"
    corpus = {r.source.split("==")[0] for r in load_pipeline(corpora / "default.toml").repos}
    bench = load_pipeline(corpora / "gold-benchmark.toml").repos
    assert len(bench) >= 25
    assert not corpus & {r.source.split("==")[0] for r in bench}


def test_svg_charts_scale_and_escape():
    svg = bar_chart("T <1>", ["a&b", "c"], [2.0, 1.0])
    assert svg.startswith("<svg") and "a&amp;b" in svg and "T &lt;1&gt;" in svg
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1])
    assert "no data" in bar_chart("empty", [], [])
    hist = histogram("h", [0.5, 1.5, 1.7, 9], [0, 1, 2, 3])
    assert re.findall(r">(\d+)</text>", hist) == ["1", "2", "0"]


def test_report_page_is_self_contained():
    data = ReportData(golds=(gold("abcdef0123456789"),), attempts=(), candidates=(), tasks=(),
                      issues={}, validations=(), trajectories=(), verdicts=())
    html = render_report(data, "my <report>")
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "my &lt;report&gt;" in html and html.count("<svg") >= 10
    assert [name for name, _ in funnel(data)][:3] == ["attempts", "candidates", "verified tasks"]


def test_report_shows_what_the_baseline_fixers_solved():
    from cligym.difficulty.ladder import LADDER
    from cligym.records import BaselineRun
    from tests.unit.test_package import _task

    task = _task()
    runs = [
        BaselineRun(task_id=task.id, rung=r.name, level=r.level, script_digest=r.digest,
                    reward=float(r.level == 1), reason="", duration_sec=1.0,
                    created_at=task.created_at)
        for r in LADDER[:2]
    ]
    data = ReportData(golds=(gold("abcdef0123456789"),), attempts=(), candidates=(),
                      tasks=(task,), issues={}, validations=(), trajectories=(), verdicts=(),
                      baselines={task.id: runs})
    html = render_report(data)
    assert "Baseline fixers" in html and "<td>reinstall-flagged</td>" in html


def test_local_executor_does_not_start_queued_units_after_an_interrupt():
    import threading

    from cligym.pipeline.run import LocalExecutor

    started: list[int] = []
    release = threading.Event()

    def unit(n: int) -> int:
        started.append(n)
        if n == 0:
            raise KeyboardInterrupt  # reaches the waiting consumer, as Ctrl-C would
        release.wait(5)
        return n

    with pytest.raises(KeyboardInterrupt):
        list(LocalExecutor(1).run(unit, list(range(5))))
    release.set()
    time.sleep(0.2)  # a pool that kept going would have started unit 2 by now
    assert started in ([0], [0, 1])  # unit 1 may have started before the interrupt arrived


def test_rich_reporter_prints_targets_and_errors_literally():
    from rich.console import Console

    from cligym.cli import common as clitools

    capture = Console(record=True, width=200, emoji=False)
    reporter = clitools.RichReporter()
    saved, clitools.console = clitools.console, capture
    try:
        reporter.stage("invert", "[1/4] command-shadowed-on-path path:dash: [/usr/lib] rejected")
        reporter.stage("run", "failed pypi:x: [bold]no such package")
    finally:
        clitools.console = saved
    text = capture.export_text()
    assert "path:dash: [/usr/lib] rejected" in text
    assert "failed pypi:x: [bold]no such package" in text


def test_catalog_writes_wait_while_a_run_is_abandoned(tmp_path: Path):
    import sqlite3

    from cligym.catalog import Catalog

    catalog = Catalog(tmp_path / "catalog.sqlite3")
    holder = catalog.block_writers()
    other = sqlite3.connect(tmp_path / "catalog.sqlite3", timeout=0.2)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("INSERT INTO meta VALUES ('k', 'v')")
    holder.close()  # the process exit: nothing was written, writers go on
    other.execute("INSERT INTO meta VALUES ('k', 'v')")
    other.commit()


def test_pipeline_bars_are_per_repository_and_go_away_when_done():
    from rich.console import Console

    from cligym.cli import common as clitools
    from cligym.pipeline.run import _RepoReporter

    events: list[tuple[str, int, int]] = []

    class Recorder:
        def stage(self, stage: str, message: str) -> None:
            return None

        def progress(self, stage: str, done: int, total: int, label: str = "") -> None:
            events.append((stage, done, total))

    unit = _RepoReporter(Recorder(), "six==1.17.0")
    unit.progress("invert", 1, 4)
    unit.progress("verify", 2, 2)
    unit.finish()  # the unit failed mid-inversion: its bar is closed, not left hanging
    assert events == [
        ("invert six==1.17.0", 1, 4), ("verify six==1.17.0", 2, 2), ("invert six==1.17.0", 4, 4)
    ]

    saved, clitools.console = clitools.console, Console(record=True, width=120)
    try:
        reporter = clitools.RichReporter(keep={"repos"})
        reporter.progress("repos", 0, 3)
        reporter.progress("invert six", 1, 4)
        assert reporter._progress is not None
        assert [t.description for t in reporter._progress.tasks] == ["repos", "invert six"]
        reporter.progress("invert six", 4, 4)
        reporter.progress("repos", 3, 3)
        assert [t.description for t in reporter._progress.tasks] == ["repos"]
        reporter.close()
    finally:
        clitools.console = saved


def test_a_bug_in_one_repository_becomes_its_outcome_not_the_runs_end():
    from cligym.pipeline.run import run_repo
    from cligym.pipeline.spec import PipelineSpec, RepoSpec

    class BrokenWorkspace:
        def gold(self, request, reporter):
            raise ValueError("not enough values to unpack (expected 6, got 1)")

    repo = RepoSpec(source="pypi:tomlkit==0.15.2")
    outcome = run_repo(BrokenWorkspace(), PipelineSpec(repos=[repo]), repo)  # type: ignore[arg-type]
    assert outcome.source == "pypi:tomlkit==0.15.2" and outcome.tasks == 0
    assert outcome.error.startswith("internal error ValueError: not enough values")


def test_an_abandoned_run_holds_the_catalog_until_it_exits(tmp_path: Path):
    """Ctrl-C on `cligym run`: threads still mid-unit must not record anything after their
    containers are gone, up to the very exit (a child process, since the exit is real)."""
    import subprocess
    import sys
    import textwrap

    child = textwrap.dedent(
        f"""
        import gc, os, sqlite3, sys
        from pathlib import Path
        from types import SimpleNamespace
        from cligym.cli import pipeline as cli_pipeline
        from cligym.catalog import Catalog

        path = {str(tmp_path / "catalog.sqlite3")!r}
        real_exit = os._exit

        def exit_after_probe(code):
            gc.collect()  # a lock nobody references would be gone by now
            try:
                other = sqlite3.connect(path, timeout=0.2)
                other.execute("INSERT INTO meta VALUES ('k', 'v')")
                other.commit()
                print("WROTE")
            except sqlite3.OperationalError as err:
                print("BLOCKED", err)
            sys.stdout.flush()
            real_exit(code)

        os._exit = exit_after_probe
        catalog = Catalog(Path(path))
        cli_pipeline._abandon(KeyboardInterrupt(), SimpleNamespace(catalog=catalog))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 130, done.stderr[-2000:]
    assert "BLOCKED database is locked" in done.stdout, done.stdout
    assert "interrupted" in done.stdout and "resume" in done.stdout
