"""Rollouts of Harbor's real terminus-2 agent, driven by a local scripted OpenAI-compatible
server: a solving session (reward 1, stored trajectory, SFT data), a looping session and one
that reads the package-manager logs (both dropped by the filters, with their reasons)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cligym.api import Workspace
from cligym.rollout.filters import FilterConfig
from cligym.rollout.run import RolloutSpec
from cligym.rollout.sft import check_openai_chat
from tests.fakellm import FakeLLM, Item

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _turn(commands: list[str], done: bool, duration: float = 0.3) -> Item:
    reply = {
        "analysis": "Looking at the environment.",
        "plan": "Run the next commands.",
        "commands": [{"keystrokes": c + "\n", "duration": duration} for c in commands],
        "task_complete": done,
    }
    return Item(content=json.dumps(reply))


@pytest.fixture(scope="module")
def offline_task(sample_tasks):
    """A task whose verified solution needs no network and is short."""
    offline = [t for t in sample_tasks if "apt-get" not in " ".join(t.solution)
               and " install " not in " ".join(t.solution)]
    return min(offline, key=lambda t: len(" ".join(t.solution)))


def _spec(fake: FakeLLM, model: str, **kw) -> RolloutSpec:
    return RolloutSpec(
        model=model,
        base_url=fake.url,
        temperature=0.0,
        agent_kwargs=("record_terminal_session=false",),
        **kw,
    )


def test_rollouts_filters_and_sft(harbor_dataset: Path, offline_task, workspace: Workspace,
                                  tmp_path: Path):
    name = offline_task.name
    with FakeLLM() as fake:
        fake.script("solver", [
            _turn(["id", "ls /etc/profile.d"], False),
            _turn(list(offline_task.solution), True, duration=3.0),
            _turn([], True),
        ])
        fake.script("looper", [_turn(["ls /usr/share/zoneinfo/Etc"], False)])
        fake.script("log-reader", [
            _turn(["tail -n 20 /var/log/dpkg.log /var/log/apt/history.log"], False),
            _turn(list(offline_task.solution), True, duration=3.0),
            _turn([], True),
        ])
        solved = workspace.rollout(harbor_dataset, _spec(fake, "solver"), names=[name])
        looped = workspace.rollout(harbor_dataset, _spec(fake, "looper", max_turns=8),
                                   names=[name])
        shortcut = workspace.rollout(harbor_dataset, _spec(fake, "log-reader"), names=[name])
        hinted = workspace.rollout(harbor_dataset, _spec(fake, "solver", hints=("category",)),
                                   names=[name])

    (good,) = solved.trajectories
    assert good.reward == 1.0, good.error
    assert good.task_id == offline_task.id and good.hint_level == "none"
    assert len(good.steps) >= 2 and good.prompt_tokens > 0
    assert any(c.strip() == offline_task.solution[0] for s in good.steps for c in s.commands)
    (loop,) = looped.trajectories
    assert loop.reward == 0.0
    (cheat,) = shortcut.trajectories
    assert cheat.reward == 1.0
    (hint,) = hinted.trajectories
    assert hint.hint_level == "category" and hint.task_name == f"{name}-hint-category"

    stored = {t.id for t in workspace.catalog.list_trajectories()}
    assert {good.id, loop.id, cheat.id, hint.id} <= stored
    summary = workspace.filter(FilterConfig(min_steps=2))
    verdicts = {v.trajectory_id: v for v in workspace.catalog.list_verdicts()}
    assert verdicts[good.id].keep, verdicts[good.id].reasons
    assert any(r.startswith("loop:") for r in verdicts[loop.id].reasons)
    assert "shortcut: reads package-manager logs" in verdicts[cheat.id].reasons
    assert summary.failures >= 1 and summary.loops_among_failures >= 1

    report = workspace.sft(tmp_path / "sft", "openai")
    lines = (tmp_path / "sft" / "train.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert report.rows == len(rows) >= 1
    assert all(check_openai_chat(r) == [] for r in rows)
    assert rows[0]["messages"][-1]["role"] == "assistant"
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "sft/data/train.parquet"),
                               split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == len(rows)
    assert "Filters: kept" in (tmp_path / "sft" / "README.md").read_text()
    sharegpt = workspace.sft(tmp_path / "sg", "sharegpt")
    first = json.loads((tmp_path / "sg" / "train.jsonl").read_text().splitlines()[0])
    assert sharegpt.rows == report.rows and first["conversations"][0]["from"] == "human"
