"""Files copied into containers as they are: standard library (or pytest) only, no cligym
imports at run time. The grader and its junit reader go into every task's tests/; the probe's
pytest plugin into probe containers."""

from __future__ import annotations

from importlib import resources


def shipped_source(name: str) -> str:
    """The text of one shipped file (`grader.py`, `junitxml.py`, `probe_plugin.py`)."""
    return (resources.files("cligym.shipped") / name).read_text()
