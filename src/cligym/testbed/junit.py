"""Parse pytest's junit XML (xunit1 flavour) back into pytest node ids and outcomes."""

from __future__ import annotations

from cligym.records import TestCaseResult, TestStatus
from cligym.shipped.junitxml import JunitParseError, iter_cases, nodeid_for

__all__ = ["JunitParseError", "nodeid_for", "parse_junit"]

_SEVERITY = {TestStatus.PASSED: 0, TestStatus.SKIPPED: 1, TestStatus.FAILED: 2, TestStatus.ERROR: 3}


def parse_junit(xml_text: str) -> list[TestCaseResult]:
    """One result per node id; if pytest reports a test twice (call and teardown) the worse wins."""
    results: dict[str, TestCaseResult] = {}
    for nodeid, outcome, message, duration in iter_cases(xml_text):
        status = TestStatus(outcome)
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
