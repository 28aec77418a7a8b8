"""Write a benchmark's figures into docs/benchmarks.md, between the markers of its name.

Each benchmark owns the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`;
`record` replaces it, so the page always shows the latest run, and the prose around the
markers (what a run showed, measurements by hand) stays as written. A benchmark whose markers
are missing gets a new section at the end of the page.

Self-check (no Docker, a temporary file): .venv/bin/python benchmarks/_results.py
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def replace_section(text: str, name: str, markdown: str) -> str:
    """`text` with NAME's marked section holding `markdown`; a new section at the end if absent."""
    start, end = markers(name)
    body = f"{start}\n{markdown.strip()}\n{end}"
    i = text.find(start)
    j = text.find(end, i + len(start)) if i >= 0 else -1
    if i >= 0 and j >= 0:
        return text[:i] + body + text[j + len(end) :]
    if i >= 0 or end in text:
        raise ValueError(f"{name}: only one of its two markers is in the page")
    head = text.rstrip("\n")
    return (head + "\n\n" if head else "") + f"## {name}\n\n{body}\n"


def record(name: str, markdown: str, path: Path = RESULTS_PATH) -> None:
    """Put `markdown` between NAME's markers in docs/benchmarks.md (written atomically)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(replace_section(text, name, markdown))
    tmp.replace(path)
    print(f"recorded in {path}", file=sys.stderr)


def _docker() -> str:
    """The Docker server version and storage driver, or why they are unknown."""
    try:
        out = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}} with {{.Driver}}"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "Docker unknown"
    return f"Docker {out}"


def machine() -> str:
    """When and where a run happened, as one line."""
    today = datetime.date.today().isoformat()
    return (
        f"Recorded {today}: {os.cpu_count()} CPUs, {platform.system()} {platform.release()} "
        f"({platform.machine()}), {_docker()}, Python {platform.python_version()}."
    )


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; cells are written as given."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _self_check() -> None:
    page = "# Benchmarks\n\nintro\n\n<!-- bench:a:start -->\nold\n<!-- bench:a:end -->\n\nafter\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "benchmarks.md"
        path.write_text(page)
        record("a", "| x |\n|---|\n| 1 |\n", path)
        got = path.read_text()
        want = page.replace("old", "| x |\n|---|\n| 1 |")
        if got != want:
            raise SystemExit(f"replace: got {got!r}, want {want!r}")
        record("a", "new", path)
        record("a", "new", path)  # idempotent
        if path.read_text() != page.replace("old", "new"):
            raise SystemExit(f"replace twice: got {path.read_text()!r}")
        record("b", "first", path)
        got = path.read_text()
        want = page.replace("old", "new") + (
            "\n## b\n\n<!-- bench:b:start -->\nfirst\n<!-- bench:b:end -->\n"
        )
        if got != want:
            raise SystemExit(f"insert: got {got!r}, want {want!r}")
        record("b", "second", path)
        if path.read_text().count("<!-- bench:b:start -->") != 1 or "first" in path.read_text():
            raise SystemExit(f"replace after insert: got {path.read_text()!r}")
        missing = Path(tmp) / "new.md"
        record("c", "only", missing)
        want = "# Benchmarks\n\n## c\n\n<!-- bench:c:start -->\nonly\n<!-- bench:c:end -->\n"
        if missing.read_text() != want:
            raise SystemExit(f"new page: got {missing.read_text()!r}")
        path.write_text("<!-- bench:d:start -->\nno end\n")
        try:
            record("d", "x", path)
        except ValueError:
            pass
        else:
            raise SystemExit("a half-marked section must not be overwritten")
    if not machine().startswith("Recorded "):
        raise SystemExit(f"machine: got {machine()!r}")
    if table(["a", "b"], [[1, "x"]]) != "| a | b |\n|---|---|\n| 1 | x |":
        raise SystemExit(f"table: got {table(['a', 'b'], [[1, 'x']])!r}")
    if RESULTS_PATH.exists():
        text = RESULTS_PATH.read_text()
        for name in ("gold", "invert", "pipeline", "export", "adversarial"):
            start, end = markers(name)
            if text.count(start) != 1 or text.count(end) != 1 or text.find(start) > text.find(end):
                raise SystemExit(f"{RESULTS_PATH}: the markers of {name} are not one pair")
    print("ok: replace, insert, new page, half-marked section, table, docs/benchmarks.md markers")


if __name__ == "__main__":
    _self_check()
