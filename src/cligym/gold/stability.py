"""Which tests pass stably across repeated runs (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import mean

from cligym.records import StabilityReport, TestRunResult, TestStatus


def compute_stability(runs: Sequence[TestRunResult]) -> StabilityReport:
    """Stable = passed in every run; flaky = outcome differs between runs (or missing in one)."""
    per_test: dict[str, list[TestStatus | None]] = {}
    durations: dict[str, list[float]] = {}
    for index, run in enumerate(runs):
        for case in run.cases:
            outcomes = per_test.setdefault(case.nodeid, [None] * len(runs))
            outcomes[index] = case.status
            durations.setdefault(case.nodeid, []).append(case.duration_sec)
    stable, flaky, failing, skipped = [], [], [], []
    for nodeid in sorted(per_test):
        outcomes = per_test[nodeid]
        if len(set(outcomes)) > 1:
            flaky.append(nodeid)
        elif outcomes[0] is TestStatus.PASSED:
            stable.append(nodeid)
        elif outcomes[0] is TestStatus.SKIPPED:
            skipped.append(nodeid)
        else:
            failing.append(nodeid)
    return StabilityReport(
        runs=len(runs),
        stable_passing=tuple(stable),
        flaky=tuple(flaky),
        failing=tuple(failing),
        skipped=tuple(skipped),
        durations_sec={k: round(mean(v), 4) for k, v in sorted(durations.items())},
    )
