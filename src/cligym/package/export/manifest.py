"""The dataset manifest: one row per exported task, as JSON Lines or Parquet.

Columns have fixed types (strings, integers, floats, lists of strings), so both files load with
Hugging Face `datasets` (`load_dataset("json" | "parquet", data_files=...)`) and pandas alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cligym.difficulty.measure import names_culprit, repair_steps
from cligym.grading.verifier import render_solution
from cligym.package.export.layouts import ExportItem
from cligym.package.text.issue import clean_excerpt
from cligym.package.text.leakcheck import redact

SCHEMA = pa.schema(
    [
        ("task_id", pa.string()),
        ("name", pa.string()),
        ("repo", pa.string()),
        ("repo_source", pa.string()),
        ("gold_id", pa.string()),
        ("gold_image", pa.string()),
        ("families", pa.list_(pa.string())),
        ("categories", pa.list_(pa.string())),
        ("difficulty", pa.float64()),
        ("difficulty_label", pa.string()),
        ("hint_level", pa.string()),
        ("fail_to_pass", pa.list_(pa.string())),
        ("pass_to_pass", pa.list_(pa.string())),
        ("error_excerpts", pa.list_(pa.string())),
        ("instruction", pa.string()),
        ("hint_category", pa.string()),
        ("hint_specific", pa.string()),
        ("dockerfile", pa.string()),
        ("solution", pa.string()),
        ("image_bytes_added", pa.int64()),
        ("issue_writer", pa.string()),
        ("baseline_solved_by", pa.string()),
        ("repair_steps", pa.int64()),
        ("error_names_culprit", pa.bool_()),
    ]
)


def manifest_row(item: ExportItem) -> dict[str, Any]:
    """Pure: the manifest row of one export item (error excerpts pass the issue's redaction)."""
    t = item.task
    excerpts = [redact(clean_excerpt(t.errors[k]), item.secrets) for k in sorted(t.errors)][:20]
    return {
        "task_id": t.id,
        "name": item.dir_name,
        "repo": item.gold.name,
        "repo_source": item.gold.source.spec,
        "gold_id": item.gold.id,
        "gold_image": item.gold.image_tag,
        "families": list(t.families),
        "categories": [str(c) for c in t.categories],
        "difficulty": float(t.difficulty),
        "difficulty_label": t.difficulty_label,
        "hint_level": item.hint,
        "fail_to_pass": list(t.fail_to_pass),
        "pass_to_pass": list(t.pass_to_pass),
        "error_excerpts": excerpts,
        "instruction": item.instruction,
        "hint_category": item.issue.hints.get("category", ""),
        "hint_specific": item.issue.hints.get("specific", ""),
        "dockerfile": t.dockerfile,
        "solution": render_solution(t),
        "image_bytes_added": int(t.image_bytes_added),
        "issue_writer": item.issue.writer,
        "baseline_solved_by": item.baseline,
        "repair_steps": repair_steps(t),
        "error_names_culprit": names_culprit(t),
    }


def write_jsonl(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def write_parquet(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    table = pa.Table.from_pylist(list(rows), schema=SCHEMA)
    tmp = path.with_name(path.name + ".part")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    return path
