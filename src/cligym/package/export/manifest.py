"""The dataset manifest: one row per exported task, as JSON Lines or Parquet.

Columns have fixed types (strings, integers, floats, lists of strings), so both files load with
Hugging Face `datasets` (`load_dataset("json" | "parquet", data_files=...)`) and pandas alike.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cligym.difficulty.measure import names_culprit, repair_steps
from cligym.grading.verifier import render_solution
from cligym.package.export.layouts import EXECUTABLES, ExportItem
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
        ("docker_image", pa.string()),  # the task's prebuilt image, pinned ("" if not pushed)
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
        ("network", pa.string()),  # mirror | offline | internet: what the task can reach
    ]
)


# The Hugging Face dataset: every manifest column, and the Harbor task directory as a tarball
# (`path`, `task_binary`: the columns SkyRL's prepare_harbor_dataset.py unpacks to
# <out>/<path>). Its card (README.md) says how to load it and which trainers take it as is.
HF_SCHEMA = pa.schema([("path", pa.string()), ("task_binary", pa.binary()), *SCHEMA])
HF_DATA_FILE = "data/train-00000-of-00001.parquet"


def task_tarball(files: Mapping[str, bytes]) -> bytes:
    """Pure: a task directory's files as a gzip tar, the same bytes for the same files (sorted
    names, no times or owners; the verifier and solution scripts executable)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o755 if name in EXECUTABLES else 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(files[name]))
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as out:
        out.write(raw.getvalue())
    return buf.getvalue()


def write_hf_dataset(rows: Sequence[dict[str, Any]], root: Path, card: str) -> Path:
    """`root`/data/train-*.parquet (HF_SCHEMA) and its dataset card, `root`/README.md."""
    path = root / HF_DATA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(list(rows), schema=HF_SCHEMA)
    tmp = path.with_name(path.name + ".part")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    (root / "README.md").write_text(card)
    return path


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
        "docker_image": item.refs.task if item.refs else "",
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
        "dockerfile": item.dockerfile,
        "solution": render_solution(t),
        "image_bytes_added": int(t.image_bytes_added),
        "issue_writer": item.issue.writer,
        "baseline_solved_by": item.baseline,
        "repair_steps": repair_steps(t),
        "error_names_culprit": names_culprit(t),
        "network": item.network,
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
