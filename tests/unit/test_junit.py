from pathlib import Path

import pytest

from cligym.records import TestStatus
from cligym.testbed.junit import JunitParseError, nodeid_for, parse_junit

SAMPLE = (Path(__file__).parent.parent / "fixtures" / "junit_xunit1.xml").read_text()


@pytest.mark.parametrize(
    ("file", "classname", "name", "expected"),
    [
        ("tests/test_a.py", "tests.test_a", "test_x", "tests/test_a.py::test_x"),
        (
            "tests/sub/test_a.py",
            "tests.sub.test_a.TestX",
            "test_p",
            "tests/sub/test_a.py::TestX::test_p",
        ),
        (
            "tests/sub/test_a.py",
            "tests.sub.test_a.TestX.TestN",
            "t",
            "tests/sub/test_a.py::TestX::TestN::t",
        ),
        ("test_top.py", "test_top", "test_p[a b]", "test_top.py::test_p[a b]"),
        ("tests/test_broken.py", "", "tests.test_broken", "tests/test_broken.py"),
        (None, "tests.test_a", "test_x", "tests/test_a.py::test_x"),
    ],
)
def test_nodeid_for(file, classname, name, expected):
    assert nodeid_for(file, classname, name) == expected


def test_parse_junit_statuses():
    cases = {c.nodeid: c for c in parse_junit(SAMPLE)}
    assert cases["tests/sub/test_a.py::TestX::TestNested::test_n"].status is TestStatus.PASSED
    assert cases["tests/sub/test_a.py::TestX::test_f"].status is TestStatus.FAILED
    assert "boom" in cases["tests/sub/test_a.py::TestX::test_f"].message
    assert cases["tests/sub/test_a.py::test_skip"].status is TestStatus.SKIPPED
    assert cases["tests/sub/test_a.py::test_param[x::y]"].status is TestStatus.PASSED
    assert cases["tests/test_broken.py"].status is TestStatus.ERROR
    assert cases["tests/sub/test_a.py::test_teardown_err"].status is TestStatus.ERROR
    assert len(cases) == 9


def test_duplicate_report_keeps_worse_outcome():
    xml = """<testsuites><testsuite>
      <testcase classname="t" name="test_a" file="t.py" time="0.5"/>
      <testcase classname="t" name="test_a" file="t.py" time="0.25">
        <error message="teardown"/></testcase>
    </testsuite></testsuites>"""
    (case,) = parse_junit(xml)
    assert case.status is TestStatus.ERROR
    assert case.duration_sec == pytest.approx(0.75)


@pytest.mark.parametrize("text", ["", "<html></html>", "<testsuites><testsuite>"])
def test_parse_junit_rejects_non_reports(text):
    with pytest.raises(JunitParseError):
        parse_junit(text)
