"""The dataset card (README.md) of a Hugging Face export: how to load it, unpack a task and
which trainers take it as it is. The YAML header is what the Hub reads for its viewer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from cligym.package.export.manifest import HF_DATA_FILE

COLUMNS = {
    "path": "the task directory's name (unpack `task_binary` there)",
    "task_binary": "the Harbor task directory as a gzip tar",
    "task_id": "cligym's id of the task (the same for every hint level)",
    "repo": "the repository whose environment is broken",
    "gold_image": "the image the task's Dockerfile builds FROM",
    "families": "the fault families, in the order their steps ran",
    "categories": "the faults' categories",
    "fail_to_pass": "tests that fail in the task and must pass after the repair",
    "pass_to_pass": "tests that pass in the task and must still pass",
    "hint_level": "none | category | specific: how much the instruction says",
    "instruction": "the issue text the agent gets",
    "difficulty": "cligym's difficulty score (label in `difficulty_label`)",
    "baseline_solved_by": "the lowest generic fixer that repairs it ('-': none of them)",
    "repair_steps": "ordered steps in the reference solution",
}


def render_card(rows: Sequence[dict[str, Any]], images_file: str | None) -> str:
    """Pure: the card of an export whose rows are `rows` (HF_SCHEMA)."""
    repos = sorted({r["repo"] for r in rows})
    tasks = len({r["task_id"] for r in rows})
    families = Counter(f for r in rows for f in r["families"])
    top = ", ".join(f"{name} ({n})" for name, n in families.most_common(8))
    images = (
        f"`docker load -i {images_file}` (in this dataset) loads them all."
        if images_file
        else "They were not exported with the dataset: build them with cligym, or pull them "
        "where a registry holds them."
    )
    columns = "\n".join(f"| `{name}` | {text} |" for name, text in COLUMNS.items())
    return f"""---
pretty_name: cligym environment-repair tasks
tags: [environment-repair, harbor, terminal-bench, agents]
configs:
- config_name: default
  data_files:
  - split: train
    path: {HF_DATA_FILE.replace("00000-of-00001", "*")}
---
# cligym environment-repair tasks

{tasks} tasks ({len(rows)} rows: one per task and hint level) from {len(repos)} repositories:
{", ".join(repos)}. In each, the environment of a real Python repository was broken (a
library, a package, the interpreter, a tool, a configuration) until tests that pass in its
gold image fail; the agent must repair the environment so that they pass again, without
touching the project's code or tests. Every task was verified: the broken state rebuilds
deterministically from its steps, and the reference solution restores every test.

Most frequent fault families: {top}.

## Load
```python
from datasets import load_dataset
ds = load_dataset("parquet", data_files="{HF_DATA_FILE}", split="train")
```

## Unpack the task directories (Harbor layout)
```python
import io, tarfile
for row in ds:
    tarfile.open(fileobj=io.BytesIO(row["task_binary"])).extractall(f"tasks/{{row['path']}}")
```
Then `harbor run -p tasks -a oracle` scores 1.0 on every task and `-a nop` 0.0.

## Trainers
- SkyRL (`examples/train_integrations/harbor/prepare_harbor_dataset.py`) reads the `path`
  and `task_binary` columns of this Parquet file as they are.
- TRL (`HarborSpec`), rLLM (`load_harbor_dataset`), verifiers and NeMo-Gym take Harbor task
  directories: unpack them first (above).

## Images
Each task's `environment/Dockerfile` builds `FROM` its repository's gold image (`gold_image`).
{images}

## Columns
| column | meaning |
|---|---|
{columns}

Also: `name`, `repo_source`, `gold_id`, `difficulty_label`, `error_excerpts`, `hint_category`,
`hint_specific`, `dockerfile`, `solution`, `image_bytes_added`, `issue_writer`,
`error_names_culprit`.
"""
