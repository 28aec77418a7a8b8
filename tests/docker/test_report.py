"""The HTML report of a real work directory, opened in headless Chromium (Debian's package)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cligym.api import Workspace

pytestmark = pytest.mark.docker
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI", "").lower() != "true",
    reason="no chromium (./dev test installs Debian's package)",
)
def test_report_renders_in_chromium(sample_tasks, workspace: Workspace, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "chromium is required under CI=true"
    workspace.package()
    path = workspace.report(tmp_path / "report.html")
    html = path.read_text().replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in html
    assert "http://" not in html and "https://" not in html, "no external assets"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            charts = page.eval_on_selector_all(
                "svg.chart",
                "els => els.map(e => { const r = e.getBoundingClientRect();"
                " return {title: e.getAttribute('aria-label'), w: r.width, h: r.height,"
                " bars: [...e.querySelectorAll('rect')].filter(b => b.getBBox().width > 0).length}"
                " })",
            )
            rows = page.eval_on_selector_all("tbody tr", "els => els.length")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert len(charts) >= 10
    for chart in charts:
        assert chart["w"] > 100 and chart["h"] > 30, chart
    drawn = {c["title"]: c["bars"] for c in charts}
    assert drawn["Funnel"] >= 4 and drawn["Tasks per fault family"] >= 1, drawn
    assert rows == len(workspace.list_tasks())
    assert (tmp_path / "report.png").stat().st_size > 10_000
