"""`cligym sft`: kept trajectories as chat-format training data.

Conversations come from Harbor's own converter (`extract_conversations_from_trajectory`), which
with `raw_content` reproduces exactly the messages the model was sent; the last episode holds
the whole conversation. Long tool outputs are cut in the middle. Written as OpenAI fine-tuning
JSONL (`{"messages": [...]}`) or ShareGPT (`{"conversations": [{"from", "value"}]}`), plus a
Parquet copy saved with Hugging Face `datasets` and a dataset card.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cligym.config import ensure_dir
from cligym.errors import CligymError
from cligym.records import FilterVerdict, Trajectory

SftFormat = Literal["openai", "sharegpt"]
ROLES = ("system", "user", "assistant")
TOOL_OUTPUT_CHARS = 6000
_SHAREGPT = {"system": "system", "user": "human", "assistant": "gpt"}


@dataclass(frozen=True)
class SftReport:
    out: Path
    rows: int
    skipped: tuple[tuple[str, str], ...]


def conversation(
    trajectory: Trajectory, max_chars: int = TOOL_OUTPUT_CHARS
) -> list[dict[str, str]]:
    """The trajectory's chat (roles system/user/assistant), long observations cut."""
    trial = Path(trajectory.trial_dir)
    atif = trial / "agent" / "trajectory.json"
    messages: list[dict[str, str]] = []
    if atif.is_file():
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")  # no network at import
        from harbor.utils import traces_utils

        meta = traces_utils.load_run_metadata(trial)
        episodes = traces_utils.extract_conversations_from_trajectory(atif, meta)
        if episodes:
            for m in episodes[-1].get("conversations", []):
                role = str(m.get("role", ""))
                if role in ROLES:
                    messages.append({"role": role, "content": _content(m.get("content"))})
    if not messages:
        raise CligymError(f"trajectory {trajectory.id} has no conversation at {atif}")
    return [
        {"role": m["role"], "content": _cut(m["content"], max_chars)}
        if m["role"] == "user" and i > 0
        else m
        for i, m in enumerate(messages)
    ]


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(str(p.get("text", "")) for p in value if isinstance(p, dict))
    return "" if value is None else str(value)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters cut ...]\n{text[-half:]}"


def check_openai_chat(row: dict[str, Any]) -> list[str]:
    """Problems of one row against the OpenAI chat fine-tuning format (empty: valid)."""
    problems = []
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["messages must be a non-empty list"]
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or set(m) - {"role", "content", "name", "weight"}:
            problems.append(f"message {i}: only role, content, name, weight are allowed")
            continue
        if m.get("role") not in ROLES:
            problems.append(f"message {i}: role must be one of {', '.join(ROLES)}")
        if not isinstance(m.get("content"), str) or not m["content"]:
            problems.append(f"message {i}: content must be a non-empty string")
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        problems.append("no assistant message to learn from")
    return problems


def export_sft(
    trajectories: Sequence[Trajectory],
    verdicts: Sequence[FilterVerdict],
    out: Path,
    fmt: SftFormat = "openai",
    include_all: bool = False,
) -> SftReport:
    """Write kept trajectories (all with `include_all`) as train.jsonl, Parquet and a card."""
    kept = {v.trajectory_id for v in verdicts if v.keep}
    chosen = [t for t in trajectories if include_all or t.id in kept]
    if not chosen:
        raise CligymError(
            "no trajectory passed the filters: run `cligym filter` (or use --all to export anyway)"
        )
    ensure_dir(out, "output directory", "choose a writable --out")
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    for t in chosen:
        try:
            chat = conversation(t)
        except Exception as err:  # Harbor's converter on an odd trajectory: skip, say why
            skipped.append((t.id, f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"))
            continue
        meta = {"task": t.task_name, "task_id": t.task_id, "agent": t.agent, "model": t.model,
                "hint_level": t.hint_level, "reward": t.reward, "steps": len(t.steps)}
        if fmt == "openai":
            problems = check_openai_chat({"messages": chat})
            if problems:
                skipped.append((t.id, problems[0]))
                continue
            rows.append({"messages": chat, "metadata": meta})
        else:
            rows.append({
                "conversations": [{"from": _SHAREGPT[m["role"]], "value": m["content"]}
                                  for m in chat],
                "metadata": meta,
            })
    if not rows:
        raise CligymError(f"none of {len(chosen)} trajectories converted: {skipped[0][1]}")
    jsonl = out / "train.jsonl"
    tmp = jsonl.with_name("train.jsonl.part")
    with tmp.open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(jsonl)
    _save_parquet(rows, out)
    _write_card(out, fmt, chosen, rows, verdicts)
    return SftReport(out, len(rows), tuple(skipped))


def _save_parquet(rows: list[dict[str, Any]], out: Path) -> None:
    try:
        import datasets
    except ImportError:  # optional: the JSONL is the primary artifact
        return
    datasets.disable_progress_bars()
    (out / "data").mkdir(exist_ok=True)
    flat = [{**{k: v for k, v in r.items() if k != "metadata"},
             "metadata": json.dumps(r["metadata"])} for r in rows]
    datasets.Dataset.from_list(flat).to_parquet(str(out / "data" / "train.parquet"))


def _write_card(
    out: Path,
    fmt: SftFormat,
    chosen: Sequence[Trajectory],
    rows: Sequence[dict[str, Any]],
    verdicts: Sequence[FilterVerdict],
) -> None:
    reasons = Counter(r.split(":")[0] for v in verdicts for r in v.reasons)
    models = Counter(t.model for t in chosen)
    tasks = {t.task_name for t in chosen}
    card = f"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train.parquet
---
# cligym environment-repair trajectories ({fmt})

{len(rows)} conversations of repair agents on {len(tasks)} cligym tasks: broken environments
of real Python repositories whose tests must pass again.

- Sources: {", ".join(f"{m} ({n})" for m, n in models.most_common())}; agents
  {", ".join(sorted({t.agent for t in chosen}))}; hint levels
  {", ".join(sorted({t.hint_level for t in chosen}))}.
- Filters: kept {sum(v.keep for v in verdicts)} of {len(verdicts)} trajectories (success,
  >= the minimum agent steps, no shortcut, no loop). Drop reasons:
  {", ".join(f"{r} x{n}" for r, n in reasons.most_common()) or "none"}.
- Files: `train.jsonl` ({fmt} chat format), `data/train.parquet` (same rows; `metadata` as
  JSON text). Tool outputs longer than {TOOL_OUTPUT_CHARS} characters are cut in the middle.
"""
    (out / "README.md").write_text(card)
