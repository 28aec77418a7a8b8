"""Turning `cligym run` / `cligym demo` options into a PipelineSpec, and the checks made before
any work starts (work directory, export directory, Ray sources); no Docker."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from cligym.api import Workspace, sample_repo_path
from cligym.config import Settings, WorkPaths, ensure_dir
from cligym.errors import CligymError, UnwritablePathError
from cligym.pipeline.demo import pick_diverse, plan_demo, validate_demo
from cligym.pipeline.executors import make_executor
from cligym.pipeline.run import (
    LocalExecutor,
    PipelineReport,
    RepoOutcome,
    export_dir,
    run_pipeline,
)
from cligym.pipeline.spec import PipelineSpec, check_ray_sources, parse_executor, plan_pipeline

PIPELINE = """
[pipeline]
budget = 7
workers = 3

[[repo]]
source = "pypi:six==1.17.0"

[[repo]]
source = "pypi:iniconfig==2.3.0"
budget = 2
"""


def _sources(spec: PipelineSpec) -> list[str]:
    return [r.source for r in spec.repos]


def test_repos_alone_make_a_spec_with_defaults():
    spec = plan_pipeline(None, ["A", "B"])
    assert _sources(spec) == ["A", "B"]
    assert spec.budget == 30 and spec.export_format == "harbor"


def test_flags_override_the_file_and_repos_replace_its_list(tmp_path: Path):
    path = tmp_path / "p.toml"
    path.write_text(PIPELINE)
    spec = plan_pipeline(path)
    assert _sources(spec) == ["pypi:six==1.17.0", "pypi:iniconfig==2.3.0"]
    assert (spec.budget, spec.workers, spec.budget_of(spec.repos[1])) == (7, 3, 2)
    spec = plan_pipeline(path, ["./mine"], budget=9, workers=1, export_format="none")
    assert _sources(spec) == ["./mine"]
    assert (spec.budget, spec.workers, spec.export_format) == (9, 1, "none")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give a pipeline TOML or --repos SOURCE ..."),
        ({"repos": ["A"], "export_format": "zip"}, "--format must be harbor, tb or none"),
        ({"repos": ["A"], "budget": 0}, "options: budget: Input should be greater than"),
        ({"repos": ["A", "A"]}, "options: repos: Value error, A is listed twice"),
        ({"pipeline": Path("/nonexistent/p.toml")}, "pipeline file /nonexistent/p.toml not found"),
    ],
)
def test_bad_options_are_one_line_errors(kwargs: dict, message: str):
    with pytest.raises(CligymError, match="^" + re.escape(message)):
        plan_pipeline(**kwargs)


def test_executor_names_and_ray_sources(tmp_path: Path):
    assert parse_executor("ray") == "ray"
    with pytest.raises(CligymError, match="--executor must be local or ray; got 'dask'"):
        parse_executor("dask")
    spec = plan_pipeline(None, [str(tmp_path), "pypi:six"])
    check_ray_sources(spec, None)  # a local cluster reads local paths
    with pytest.raises(CligymError, match="is a local path, which workers on other nodes"):
        check_ray_sources(spec, "ray://head:10001")
    ws = Workspace(Settings(workdir=tmp_path / "work"))
    assert make_executor(ws, plan_pipeline(None, ["A"], workers=3)) == LocalExecutor(3)
    with pytest.raises(CligymError, match="local path"):
        make_executor(ws, spec, "ray", "ray://head:10001")  # refused before Ray is imported


def test_demo_is_the_pipeline_on_the_sample():
    spec = plan_demo(budget=5, seed=2)
    assert _sources(spec) == [str(sample_repo_path())]
    assert (spec.budget, spec.seed, spec.runs, spec.workers) == (5, 2, 2, 1)
    assert (spec.export_format, spec.out) == ("harbor", "datasets/stashkit-harbor")


def test_a_file_in_the_way_of_the_work_directory_is_one_actionable_line(tmp_path: Path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(UnwritablePathError) as err:
        WorkPaths(tmp_path / "afile" / "work").ensure()
    assert str(err.value) == (
        f"cannot create work directory {tmp_path}/afile/work: Not a directory; "
        "pass a writable --workdir (or set CLIGYM_WORKDIR)"
    )
    with pytest.raises(UnwritablePathError, match="afile: a file is in the way; choose"):
        ensure_dir(tmp_path / "afile", "output directory", "choose a writable --out")


def test_a_directory_that_cannot_be_written_is_refused(tmp_path: Path, monkeypatch):
    """Permission errors (simulated: the suite runs as root, which writes anywhere)."""

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(UnwritablePathError) as err:
        ensure_dir(tmp_path / "out", "output directory", "choose a writable --out")
    assert str(err.value) == (
        f"cannot create output directory {tmp_path}/out: Permission denied; "
        "choose a writable --out"
    )
    monkeypatch.undo()
    monkeypatch.setattr("cligym.config.os.access", lambda path, mode: False)
    with pytest.raises(UnwritablePathError) as err:
        ensure_dir(tmp_path, "output directory", "choose a writable --out")
    assert str(err.value) == (
        f"cannot write to output directory {tmp_path}: permission denied; choose a writable --out"
    )


def test_run_checks_its_directories_before_anything_runs(tmp_path: Path):
    (tmp_path / "afile").write_text("")
    ws = Workspace(Settings(workdir=tmp_path / "afile" / "work"))
    never = SimpleNamespace(run=lambda fn, items: pytest.fail("a unit ran"))
    with pytest.raises(UnwritablePathError, match="--workdir"):
        run_pipeline(ws, plan_pipeline(None, ["A"]), executor=never)  # type: ignore[arg-type]
    ws = Workspace(Settings(workdir=tmp_path / "work"))
    spec = plan_pipeline(None, ["A"]).model_copy(update={"out": str(tmp_path / "afile" / "ds")})
    assert export_dir(ws, spec) == tmp_path / "afile" / "ds"
    with pytest.raises(UnwritablePathError, match="a file is in the way; choose a writable --out"):
        run_pipeline(ws, spec, executor=never)  # type: ignore[arg-type]


def _task(name: str, category: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, categories=[category])


def test_pick_diverse_takes_one_per_category_first():
    tasks = [_task("a", "x"), _task("b", "x"), _task("c", "y"), _task("d", "z")]
    picks = pick_diverse(tasks, 3, {"a", "b", "c"})  # type: ignore[arg-type]
    assert [t.name for t in picks] == ["a", "c", "b"]


def test_a_failed_demo_unit_is_the_demos_error():
    failed = RepoOutcome("stashkit", error="no such directory: /x")
    report = PipelineReport((failed,), None, 1.0)
    with pytest.raises(CligymError, match=r"^no such directory: /x$"):
        validate_demo(SimpleNamespace(), report, 3)  # type: ignore[arg-type]
    empty = PipelineReport((RepoOutcome("stashkit", gold_id="g"),), None, 1.0)
    with pytest.raises(CligymError, match="no verified tasks to export"):
        validate_demo(SimpleNamespace(), empty, 3)  # type: ignore[arg-type]
