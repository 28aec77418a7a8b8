"""Pipeline specs and the report page, without Docker."""

from __future__ import annotations

import re
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
    assert len(spec.repos) >= 30
    assert len({r.source for r in spec.repos}) == len(spec.repos)
    assert all(re.match(r"^pypi:[\w.-]+==[\w.]+$", r.source) for r in spec.repos), "pinned"
    assert len({r.kind for r in spec.repos}) >= 6


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
