"""The `cligym` command through typer's CliRunner: parsing, help, and one-line errors; no Docker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import cligym.cli.pipeline as cli_pipeline
from cligym.cli import app
from cligym.pipeline.run import PipelineReport
from cligym.pipeline.spec import PipelineSpec

runner = CliRunner()


def _command_paths() -> Iterator[list[str]]:
    def walk(command: object, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


COMMANDS = list(_command_paths())


def test_every_command_is_registered():
    names = {" ".join(p) for p in COMMANDS}
    assert {"gold", "invert", "verify", "baseline", "export", "push", "demo", "run", "list gold",
            "list tasks"} <= names
    assert len(names) == 24  # the root, 21 commands (`list` among them), list's two


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "cligym")
def test_every_help_exits_0(path: list[str]):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output


@pytest.fixture
def specs(monkeypatch: pytest.MonkeyPatch) -> list[PipelineSpec]:
    """`run` up to the pipeline: the specs it would run (the pipeline itself never starts)."""
    seen: list[PipelineSpec] = []

    def fake_run(ws, spec, executor=None, reporter=None):
        seen.append(spec)
        return PipelineReport((), None, 0.0)

    monkeypatch.setattr(cli_pipeline, "run_pipeline", fake_run)
    return seen


def _run(tmp_path: Path, *args: str) -> None:
    result = runner.invoke(app, ["--workdir", str(tmp_path / "work"), "run", *args])
    assert result.exit_code == 0, result.output


def _sources(spec: PipelineSpec) -> list[str]:
    return [r.source for r in spec.repos]


def test_run_repos_takes_every_source_after_the_flag(specs, tmp_path: Path):
    _run(tmp_path, "--repos", "pypi:tabulate==0.9.0", "./myrepo", "--budget", "20")
    _run(tmp_path, "--repos", "A", "--repos", "B")  # the repeated form still works
    assert [_sources(s) for s in specs] == [["pypi:tabulate==0.9.0", "./myrepo"], ["A", "B"]]
    assert specs[0].budget == 20


def test_run_reads_the_pipeline_file_alone_or_under_repos(specs, tmp_path: Path):
    pipeline = tmp_path / "pipeline.toml"
    pipeline.write_text('[pipeline]\nbudget = 7\n\n[[repo]]\nsource = "pypi:six==1.17.0"\n')
    _run(tmp_path, str(pipeline))
    _run(tmp_path, str(pipeline), "--repos", "A", "B")  # the file's settings, these repos
    assert [(_sources(s), s.budget) for s in specs] == [(["pypi:six==1.17.0"], 7), (["A", "B"], 7)]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["A", "B"], "error: one pipeline file at most, got 2; sources go after --repos"),
        ([], "error: give a pipeline TOML or --repos SOURCE ..."),
        (["missing.toml"], "error: pipeline file missing.toml not found"),
        (["--repos", "A", "--executor", "dask"], "error: --executor must be local or ray"),
    ],
)
def test_run_usage_problems_are_one_line(specs, tmp_path: Path, args: list[str], line: str):
    result = runner.invoke(app, ["--workdir", str(tmp_path / "work"), "run", *args])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith(line), result.stderr
    assert specs == []


def test_split_run_arguments():
    split = cli_pipeline.split_run_arguments
    assert split(["p.toml"], []) == (Path("p.toml"), [])
    assert split(["B", "p.toml", "C"], ["A"]) == (Path("p.toml"), ["A", "B", "C"])
    assert split([], []) == (None, [])


def _blocked(tmp_path: Path) -> Path:
    """A path no directory can be made at, even by root: a file is in the way."""
    (tmp_path / "afile").write_text("")
    return tmp_path / "afile" / "sub"


@pytest.mark.parametrize("args", [["list", "gold"], ["run", "--repos", "A"], ["demo"]])
def test_an_unusable_workdir_is_one_line_and_exit_1(tmp_path: Path, args: list[str]):
    workdir = _blocked(tmp_path)
    result = runner.invoke(app, ["--workdir", str(workdir), *args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: cannot create work directory {workdir}: Not a directory; "
        "pass a writable --workdir (or set CLIGYM_WORKDIR)"
    ]


def test_an_unusable_out_is_one_line_and_exit_1(tmp_path: Path):
    out = _blocked(tmp_path) / "report.html"
    result = runner.invoke(app, ["--workdir", str(tmp_path / "work"), "report", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: cannot create output directory {out.parent}: Not a directory; "
        "choose a writable --out"
    ]


def test_an_unusable_pipeline_out_fails_before_any_unit(tmp_path: Path):
    pipeline = tmp_path / "pipeline.toml"
    blocked = _blocked(tmp_path)
    pipeline.write_text(f'[pipeline]\nout = "{blocked}/ds"\n\n[[repo]]\nsource = "A"\n')
    result = runner.invoke(app, ["--workdir", str(tmp_path / "work"), "run", str(pipeline)])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"error: cannot create output directory {blocked}: Not a directory; choose a writable"
    )
