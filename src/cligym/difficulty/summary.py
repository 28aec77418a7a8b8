"""What a set of verified tasks teaches, in figures: how many blind fixers solve, how many need
an ordered repair, how many hide their cause, and how the fault families and categories spread.

Pure: tasks and their stored rung results in, one `DifficultySummary` out. The report, the
baseline benchmark and `cligym baseline` print the same numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cligym.difficulty.ladder import LADDER, Rung
from cligym.difficulty.measure import ladder_label, names_culprit, repair_steps, solved_by
from cligym.faults.registry import families
from cligym.records import BaselineRun, Task

MULTI_STEP = 3  # ordered repair steps from which a task counts as a multi-step repair


def variant_families() -> frozenset[str]:
    """Families whose tasks are variants of one another (one stdlib module after another)."""
    return frozenset(f.name for f in families() if f.variant_group is not None)


@dataclass(frozen=True)
class DifficultySummary:
    tasks: int
    solved_by: Mapping[str, int]  # rung -> tasks solved by it or a rung below (cumulative)
    unsolved: int  # no rung solves them
    unmeasured: int
    multi_step: int  # tasks whose verified repair has >= MULTI_STEP ordered steps
    quiet: int  # tasks whose error output does not name what was broken
    per_family: Mapping[str, int] = field(default_factory=dict)  # tasks a family is part of
    per_first_family: Mapping[str, int] = field(default_factory=dict)  # by the task's first
    per_category: Mapping[str, int] = field(default_factory=dict)
    variant_tasks: int = 0  # tasks with a family of near-identical variants
    known: Mapping[str, int] = field(default_factory=dict)
    """rung -> tasks where that figure is final: solved at or below it, or every rung up to it
    tried (a run of `--rung tidy` alone measures only the first)."""

    def share(self, n: int) -> float:
        return n / self.tasks if self.tasks else 0.0

    @property
    def largest_family(self) -> tuple[str, int]:
        return _largest(self.per_family)

    @property
    def largest_first_family(self) -> tuple[str, int]:
        return _largest(self.per_first_family)

    def lines(self, rungs: Sequence[Rung] = LADDER) -> list[str]:
        """The figures as Markdown bullets."""

        def pct(n: int) -> str:
            return f"{n}/{self.tasks} ({100 * self.share(n):.0f}%)"

        def measured_on(rung: str) -> str:
            known = self.known.get(rung, self.tasks)
            return "" if known == self.tasks else f", measured on {known}/{self.tasks} only"

        out = [
            f"- rung {r.level} `{r.name}` ({r.summary}): solves {pct(self.solved_by[r.name])}"
            + measured_on(r.name)
            for r in rungs
        ]
        name, most = self.largest_family
        first, first_most = self.largest_first_family
        out += [
            f"- no rung solves {pct(self.unsolved)}; not measured {self.unmeasured}",
            f"- tasks needing >= {MULTI_STEP} ordered repair steps: {pct(self.multi_step)}",
            f"- tasks whose error does not name what was broken: {pct(self.quiet)}",
            f"- largest family: {name}, part of {pct(most)}; as the first fault: {first}, "
            f"{pct(first_most)}",
            f"- near-identical-variant families "
            f"({', '.join(sorted(variant_families()))}): {pct(self.variant_tasks)}",
            f"- categories: {len(self.per_category)} ("
            + ", ".join(f"{c} {n}" for c, n in sorted(self.per_category.items()))
            + ")",
        ]
        return out


def rung_counts(
    per_task: Sequence[Sequence[BaselineRun]], rungs: Sequence[Rung] = LADDER
) -> tuple[dict[str, int], dict[str, int]]:
    """Per rung: the tasks solved by it or a rung below (cumulative), and the tasks where that
    figure is final (solved at or below it, or every rung up to it tried)."""
    solved: dict[str, int] = {}
    known: dict[str, int] = {}
    ordered = sorted(rungs, key=lambda r: r.level)
    for i, rung in enumerate(ordered):
        up_to = {r.name for r in ordered[: i + 1]}
        solved[rung.name] = known[rung.name] = 0
        for task_runs in per_task:
            best = solved_by(task_runs)
            if best is not None and best.rung in up_to:
                solved[rung.name] += 1
                known[rung.name] += 1
            elif {r.rung for r in task_runs} >= up_to:
                known[rung.name] += 1
    return solved, known


def summarize(
    tasks: Sequence[Task],
    runs: Mapping[str, Sequence[BaselineRun]],
    rungs: Sequence[Rung] = LADDER,
) -> DifficultySummary:
    labels = [ladder_label(list(runs.get(t.id, [])), rungs) for t in tasks]
    solved, known = rung_counts([list(runs.get(t.id, [])) for t in tasks], rungs)
    variants = variant_families()
    return DifficultySummary(
        tasks=len(tasks),
        solved_by=solved,
        known=known,
        unsolved=labels.count("none"),
        unmeasured=labels.count("-"),
        multi_step=sum(1 for t in tasks if repair_steps(t) >= MULTI_STEP),
        quiet=sum(1 for t in tasks if not names_culprit(t)),
        per_family=dict(Counter(f for t in tasks for f in set(t.families))),
        per_first_family=dict(Counter(t.families[0] for t in tasks if t.families)),
        per_category=dict(Counter(str(c) for t in tasks for c in set(t.categories))),
        variant_tasks=sum(1 for t in tasks if variants & set(t.families)),
    )


def _largest(counts: Mapping[str, int]) -> tuple[str, int]:
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]), default=("-", 0))
