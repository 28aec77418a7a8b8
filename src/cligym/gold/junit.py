"""Parse pytest's junit XML (xunit1 flavour) back into pytest node ids and outcomes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cligym.records import TestCaseResult, TestStatus

_SEVERITY = {TestStatus.PASSED: 0, TestStatus.SKIPPED: 1, TestStatus.FAILED: 2, TestStatus.ERROR: 3}
MESSAGE_CHARS = 2000


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


def parse_junit(xml_text: str) -> list[TestCaseResult]:
    """One result per node id; if pytest reports a test twice (call and teardown) the worse wins."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as err:
        raise JunitParseError(f"invalid junit XML: {err}") from err
    if root.tag not in ("testsuites", "testsuite"):
        raise JunitParseError(f"not a junit report (root element <{root.tag}>)")
    results: dict[str, TestCaseResult] = {}
    for case in root.iter("testcase"):
        nodeid = nodeid_for(case.get("file"), case.get("classname", ""), case.get("name", ""))
        status, message = TestStatus.PASSED, ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = {
                    "failure": TestStatus.FAILED,
                    "error": TestStatus.ERROR,
                    "skipped": TestStatus.SKIPPED,
                }[child.tag]
                # the message attribute is a summary; the text ends with the real exception
                summary = (child.get("message") or "").strip()
                detail = (child.text or "").strip()
                tail = detail[-MESSAGE_CHARS:] if detail and detail != summary else ""
                message = "\n".join(p for p in (summary[: MESSAGE_CHARS // 2], tail) if p)
                break
        try:
            duration = float(case.get("time", "0") or 0)
        except ValueError:
            duration = 0.0
        result = TestCaseResult(
            nodeid=nodeid, status=status, duration_sec=duration, message=message
        )
        previous = results.get(nodeid)
        if previous is None or _SEVERITY[status] > _SEVERITY[previous.status]:
            if previous is not None:
                result = result.model_copy(
                    update={"duration_sec": previous.duration_sec + duration}
                )
            results[nodeid] = result
    return list(results.values())
