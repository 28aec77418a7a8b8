"""Walk pytest's junit XML (xunit1 flavour): node ids, outcomes and messages.

Standard library only, with no cligym imports: exported tasks ship this file next to their
grader, so the harness grades with exactly the node ids cligym recorded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

MESSAGE_CHARS = 2000
OUTCOMES = ("passed", "skipped", "failed", "error")  # by increasing severity


class JunitParseError(ValueError):
    """The XML is not a pytest junit report."""


def nodeid_for(file: str | None, classname: str, name: str) -> str:
    """Rebuild the pytest node id from xunit1 attributes.

    classname is the module path with dots plus nested classes (`tests.sub.test_a.TestX.TestY`);
    `file` (`tests/sub/test_a.py`) tells where the module part ends.
    """
    if not classname and file:
        return file  # a collection error of the module itself
    if file:
        module = file[:-3].replace("/", ".") if file.endswith(".py") else file.replace("/", ".")
        if classname == module:
            return f"{file}::{name}"
        if classname.startswith(module + "."):
            classes = classname[len(module) + 1 :].split(".")
            return "::".join([file, *classes, name])
        return f"{file}::{name}"
    if not classname:
        return name
    return f"{classname.replace('.', '/')}.py::{name}"


def iter_cases(xml_text: str) -> Iterator[tuple[str, str, str, float]]:
    """(node id, outcome, message, seconds) per <testcase>, in document order.

    A test may appear twice (call and teardown); callers merge by severity (OUTCOMES order).
    """
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as err:
        raise JunitParseError(f"invalid junit XML: {err}") from err
    if root.tag not in ("testsuites", "testsuite"):
        raise JunitParseError(f"not a junit report (root element <{root.tag}>)")
    for case in root.iter("testcase"):
        nodeid = nodeid_for(case.get("file"), case.get("classname", ""), case.get("name", ""))
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                # the message attribute is a summary; the text ends with the real exception
                summary = (child.get("message") or "").strip()
                detail = (child.text or "").strip()
                tail = detail[-MESSAGE_CHARS:] if detail and detail != summary else ""
                message = "\n".join(p for p in (summary[: MESSAGE_CHARS // 2], tail) if p)
                break
        try:
            seconds = float(case.get("time", "0") or 0)
        except ValueError:
            seconds = 0.0
        yield nodeid, outcome, message, seconds


def outcomes(xml_text: str) -> dict[str, str]:
    """node id -> worst outcome reported for it."""
    worst: dict[str, str] = {}
    for nodeid, outcome, _, _ in iter_cases(xml_text):
        previous = worst.get(nodeid)
        if previous is None or OUTCOMES.index(outcome) > OUTCOMES.index(previous):
            worst[nodeid] = outcome
    return worst
