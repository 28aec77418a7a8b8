"""The report page: figures from the catalog (pure), rendered as one self-contained HTML file.

Funnel as in the reference paper (attempts -> candidates -> verified -> packaged -> validated,
and trajectories -> kept), yield per repo and per fault family, category and difficulty
histograms, test time vs Docker overhead per gold env, storage per task, and a browsable table
of tasks with their issue text and failing tests. Plots are inline SVG; there is no script.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

from cligym.catalog import Catalog
from cligym.difficulty.ladder import LADDER
from cligym.difficulty.measure import by_task, ladder_label
from cligym.difficulty.summary import summarize
from cligym.records import (
    Attempt,
    BaselineRun,
    Candidate,
    FilterVerdict,
    GoldEnv,
    IssueText,
    Task,
    TaskValidation,
    Trajectory,
)
from cligym.report.svg import bar_chart, histogram


@dataclass(frozen=True)
class ReportData:
    golds: tuple[GoldEnv, ...]
    attempts: tuple[Attempt, ...]
    candidates: tuple[Candidate, ...]
    tasks: tuple[Task, ...]
    issues: dict[str, IssueText]
    validations: tuple[TaskValidation, ...]
    trajectories: tuple[Trajectory, ...]
    verdicts: tuple[FilterVerdict, ...]
    baselines: Mapping[str, Sequence[BaselineRun]] = field(default_factory=dict)  # per task


def collect(catalog: Catalog) -> ReportData:
    tasks = tuple(catalog.list_tasks())
    issues = {t.id: i for t in tasks if (i := catalog.get_issue(t.id)) is not None}
    return ReportData(
        golds=tuple(catalog.list_gold()),
        attempts=tuple(catalog.list_attempts()),
        candidates=tuple(catalog.list_candidates()),
        tasks=tasks,
        issues=issues,
        validations=tuple(catalog.list_validations()),
        trajectories=tuple(catalog.list_trajectories()),
        verdicts=tuple(catalog.list_verdicts()),
        baselines=by_task(catalog.list_baselines()),
    )


def funnel(data: ReportData) -> list[tuple[str, int]]:
    valid = {v.task_id for v in data.validations if v.valid}
    rows = [
        ("attempts", len(data.attempts)),
        ("candidates", len(data.candidates)),
        ("verified tasks", len(data.tasks)),
        ("packaged (issue text passed the checker)", len(data.issues)),
        ("validated in a harness (oracle 1, nop 0)", len(valid)),
    ]
    if data.trajectories:
        rows += [
            ("trajectories", len(data.trajectories)),
            ("kept by the filters", sum(v.keep for v in data.verdicts)),
        ]
    return rows


def per_repo(data: ReportData) -> list[tuple[str, int, int, float]]:
    """(repo, attempts, tasks, tasks per attempt) per gold env."""
    names = {g.id: g.name for g in data.golds}
    attempts = Counter(names.get(a.gold_id, a.gold_id[:8]) for a in data.attempts)
    tasks = Counter(names.get(t.gold_id, t.gold_id[:8]) for t in data.tasks)
    return [
        (repo, attempts[repo], tasks[repo], tasks[repo] / attempts[repo] if attempts[repo] else 0)
        for repo in sorted(set(attempts) | set(tasks))
    ]


def overhead(gold: GoldEnv) -> tuple[float, float]:
    """(pytest seconds, Docker and runner overhead seconds) per test run of a gold env."""
    pytest = sum(gold.stability.durations_sec.values())
    return round(pytest, 2), round(max(0.0, gold.run_sec - pytest), 2)


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.grid{display:flex;flex-wrap:wrap;gap:1.5rem}svg.chart text{font-size:12px}
svg.chart text.title{font-weight:bold;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
details pre{white-space:pre-wrap;background:#f7f7f7;padding:.5rem;max-height:30rem;overflow:auto}
.num{text-align:right}
"""


def render_report(data: ReportData, title: str = "cligym report") -> str:
    """Pure: the whole page."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    steps = funnel(data)
    repos = per_repo(data)
    families = Counter(f for t in data.tasks for f in t.families)
    categories = Counter(str(c) for t in data.tasks for c in t.categories)
    labels = Counter(t.difficulty_label for t in data.tasks)
    fam_attempts = Counter(f for a in data.attempts for f in a.families)
    overheads = [(g.name, *overhead(g)) for g in data.golds]
    storage_kb = [t.image_bytes_added / 1e3 for t in data.tasks]
    charts = [
        bar_chart("Funnel", [s for s, _ in steps], [float(n) for _, n in steps]),
        bar_chart("Verified tasks per repo", [r[0] for r in repos], [float(r[2]) for r in repos]),
        bar_chart(
            "Yield per repo (tasks per attempt)",
            [r[0] for r in repos],
            [round(r[3], 2) for r in repos],
            fmt="{:.2f}",
        ),
        bar_chart(
            "Tasks per fault family",
            [f for f, _ in families.most_common()],
            [float(n) for _, n in families.most_common()],
        ),
        bar_chart(
            "Yield per fault family (tasks per attempt using it)",
            [f for f, _ in families.most_common()],
            [round(n / max(1, fam_attempts[f]), 2) for f, n in families.most_common()],
            fmt="{:.2f}",
        ),
        bar_chart(
            "Tasks per category",
            sorted(categories),
            [float(categories[c]) for c in sorted(categories)],
        ),
        bar_chart(
            "Difficulty",
            ["easy", "medium", "hard"],
            [float(labels[x]) for x in ("easy", "medium", "hard")],
        ),
        histogram(
            "Difficulty score", [t.difficulty for t in data.tasks], [0, 1, 2, 3, 4, 5, 6, 99]
        ),
        bar_chart(
            "pytest time per test run (s)",
            [o[0] for o in overheads],
            [o[1] for o in overheads],
            unit=" s",
        ),
        bar_chart(
            "Docker + runner overhead per test run (s)",
            [o[0] for o in overheads],
            [o[2] for o in overheads],
            unit=" s",
        ),
        histogram(
            "Image bytes a task adds over its gold image (kB)",
            storage_kb,
            [0, 1, 10, 100, 1000, 10000, 1e9],
            fmt="{:g}",
        ),
    ]
    if data.baselines:
        measured = summarize(data.tasks, data.baselines)
        charts.append(
            bar_chart(
                "Baseline fixers: tasks solved by a rung or below (%)",
                [*(r.name for r in LADDER), "none"],
                [
                    *(round(100 * measured.share(measured.solved_by[r.name]), 1) for r in LADDER),
                    round(100 * measured.share(measured.unsolved), 1),
                ],
                fmt="{:.0f}",
                unit=" %",
            )
        )
    if data.verdicts:
        charts.append(
            histogram("Agent steps per trajectory", [v.steps for v in data.verdicts],
                      [0, 5, 10, 20, 40, 80, 1e9])
        )
    table = "\n".join(_task_row(t, data.issues.get(t.id), data) for t in data.tasks)
    summary = (
        f"{len(data.golds)} gold envs, {len(data.attempts)} attempts, {len(data.tasks)} verified "
        f"tasks, {sum(t.tokens for t in data.tasks)} LLM tokens in verified tasks"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{STYLE}</style></head>
<body><h1>{escape(title)}</h1><p>{escape(summary)}. Generated {now}.</p>
<h2>Figures</h2><div class="grid">{"".join(charts)}</div>
<h2>Tasks</h2>
<table><thead><tr><th>task</th><th>repo</th><th>families</th><th>difficulty</th>
<th>baseline</th>
<th class="num">failing</th><th class="num">kB added</th><th>issue and failing tests</th></tr>
</thead><tbody>
{table}
</tbody></table></body></html>
"""


def _task_row(task: Task, issue: IssueText | None, data: ReportData) -> str:
    repo = next((g.name for g in data.golds if g.id == task.gold_id), task.gold_id[:8])
    text = issue.instruction("none") if issue else "(not packaged yet)"
    tests = "\n".join(task.fail_to_pass)
    return (
        f"<tr><td>{escape(task.name)}</td><td>{escape(repo)}</td>"
        f"<td>{escape(' + '.join(task.families))}</td>"
        f"<td>{escape(task.difficulty_label)} ({task.difficulty})</td>"
        f"<td>{escape(ladder_label(list(data.baselines.get(task.id, []))))}</td>"
        f'<td class="num">{len(task.fail_to_pass)}</td>'
        f'<td class="num">{task.image_bytes_added / 1e3:.1f}</td>'
        f"<td><details><summary>issue</summary><pre>{escape(text)}</pre></details>"
        f"<details><summary>failing tests</summary><pre>{escape(tests)}</pre></details></td></tr>"
    )
