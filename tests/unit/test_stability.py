from cligym.gold.stability import compute_stability
from cligym.records import TestCaseResult, TestRunResult, TestStatus

P, F, S, E = TestStatus.PASSED, TestStatus.FAILED, TestStatus.SKIPPED, TestStatus.ERROR


def run(**outcomes: TestStatus) -> TestRunResult:
    cases = tuple(TestCaseResult(nodeid=k, status=v, duration_sec=1.0) for k, v in outcomes.items())
    return TestRunResult(exit_code=0, duration_sec=1.0, cases=cases)


def test_stable_flaky_failing_skipped():
    report = compute_stability(
        [
            run(a=P, b=P, c=F, d=S, e=E, f=P),
            run(a=P, b=F, c=F, d=S, e=E),
        ]
    )
    assert report.runs == 2
    assert report.stable_passing == ("a",)
    assert report.flaky == ("b", "f")  # f is missing from run 2: not stable
    assert report.failing == ("c", "e")
    assert report.skipped == ("d",)
    assert report.durations_sec["a"] == 1.0


def test_single_run_everything_passing_is_stable():
    report = compute_stability([run(x=P, y=P)])
    assert report.stable_passing == ("x", "y") and not report.flaky


def test_no_runs_gives_empty_report():
    report = compute_stability([])
    assert report.stable_passing == () and report.runs == 0
