"""Rollout plumbing without a harness: ATIF ingest, filters, SFT rows, the LLM agent's rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cligym.invert.llm import is_read_only, touches_repository
from cligym.records import Trajectory, TrajectoryStep
from cligym.rollout.filters import FilterConfig, find_loop, judge_trajectory, summarize
from cligym.rollout.ingest import parse_atif
from cligym.rollout.run import RolloutSpec
from cligym.rollout.sft import check_openai_chat


def _traj(commands: list[str], reward: float | None = 1.0, observation: str = "ok") -> Trajectory:
    return Trajectory(
        id="t" + str(abs(hash(tuple(commands)))),
        task_name="task",
        agent="terminus-2",
        model="m",
        reward=reward,
        steps=tuple(TrajectoryStep(commands=(c,), observation=f"{observation} {i}")
                    for i, c in enumerate(commands)),
        trial_dir="/nowhere",
        created_at=datetime.now(UTC),
    )


def _distinct(n: int) -> list[str]:
    return [f"ls /usr/lib/dir{i}" for i in range(n)]


def test_good_long_successful_trajectory_is_kept():
    verdict = judge_trajectory(_traj(_distinct(20)))
    assert verdict.keep and verdict.reasons == ()
    short = judge_trajectory(_traj(_distinct(5)))
    assert not short.keep and short.reasons == ("too short: 5 < 20 steps",)
    assert judge_trajectory(_traj(_distinct(5)), FilterConfig(min_steps=5)).keep


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("cat /var/log/apt/history.log", "reads package-manager logs"),
        ("grep -i install /var/log/dpkg.log", "reads package-manager logs"),
        ("ls ~/.cache/pip/wheels", "reads package caches"),
        ("cat /root/.bash_history", "reads shell history"),
        ("cd /app && git log -3", "reads git metadata"),
        ("rm /app/tests/test_db.py", "edits or deletes test files"),
        ("sed -i 's/assert/#/' tests/test_cli.py", "edits or deletes test files"),
        ("cat /tests/test.sh", "touches the task's tooling"),
        ("cd /tests&&ls", "touches the task's tooling"),
        ("cp /tmp/x.py /app/conftest.py", "edits or deletes test files"),
        ("echo pass | tee tests/test_a.py", "edits or deletes test files"),
        ("git -C /app log -3", "reads git metadata"),
        ("bash /solution/solve.sh", "touches the task's tooling"),
    ],
)
def test_shortcuts_are_named(command, reason):
    verdict = judge_trajectory(_traj([*_distinct(20), command]))
    assert not verdict.keep and f"shortcut: {reason}" in verdict.reasons


def test_innocent_commands_are_not_shortcuts():
    ok = ["python -m pytest tests/test_db.py", "ls /app/tests", "cat /etc/ld.so.conf",
          "apt-get install --reinstall libsqlite3-0", "echo $PATH", "cat tests/test_db.py",
          "pytest 2>/dev/null tests/test_x.py", "rm -rf /app/tests/__pycache__",
          "less docs/history.rst"]
    assert judge_trajectory(_traj([*_distinct(20), *ok])).keep


def test_loops_need_repeats_without_state_change():
    same = _traj(["ls /tmp"] * 4, reward=0.0, observation="x")
    # identical observations: the step index makes each differ, so build them by hand
    steps = tuple(TrajectoryStep(commands=("ls /tmp",), observation="a b") for _ in range(4))
    looping = same.model_copy(update={"steps": steps})
    assert find_loop(looping) and find_loop(looping).startswith("loop: 1-command")
    assert find_loop(same) is None  # the output changed every time: not a loop
    cycle = tuple(
        TrajectoryStep(commands=(c,), observation=c)
        for c in ["cd /x", "ls", "cd /x", "ls", "cd /x", "ls"]
    )
    assert find_loop(same.model_copy(update={"steps": cycle})).startswith("loop: 2-command")
    verdicts = [judge_trajectory(looping), judge_trajectory(_traj(_distinct(20)))]
    summary = summarize(verdicts)
    assert (summary.total, summary.kept, summary.failures, summary.loops_among_failures) == (
        2, 1, 1, 1
    )
    assert summary.loop_rate == 1.0 and summary.step_counts == (4, 20)


def test_atif_agent_steps_commands_and_tokens():
    atif = {
        "steps": [
            {"step_id": 1, "source": "system", "message": "sys"},
            {"step_id": 2, "source": "agent", "message": json.dumps(
                {"analysis": "a", "commands": [{"keystrokes": "ls -l /etc\n"}]}),
             "observation": {"results": [{"content": "total 0"}]},
             "metrics": {"prompt_tokens": 100, "completion_tokens": 10}},
            {"step_id": 3, "source": "agent", "message": [{"type": "text", "text": "go"}],
             "tool_calls": [{"tool_call_id": "1", "function_name": "bash_command",
                             "arguments": {"keystrokes": "chmod 644 /x\n"}}],
             "metrics": {"prompt_tokens": 120, "completion_tokens": 12}},
            {"step_id": 4, "source": "agent", "message": "old", "is_copied_context": True},
        ]
    }
    steps, prompt, completion = parse_atif(atif)
    assert [s.commands for s in steps] == [("ls -l /etc\n",), ("chmod 644 /x\n",)]
    assert steps[0].observation == "total 0" and steps[1].message == "go"
    assert (prompt, completion) == (220, 22)


def test_rollout_spec_reaches_any_openai_compatible_server():
    spec = RolloutSpec(model="qwen", base_url="http://h:8000/v1", temperature=0.0, max_turns=40)
    args = spec.harbor_args()
    assert args[:4] == ["-m", "openai/qwen", "-k", "1"]
    assert "api_base=http://h:8000/v1" in args and "max_turns=40" in args
    assert 'trajectory_config={"raw_content": true}' in args
    assert RolloutSpec(model="anthropic/claude").litellm_model() == "anthropic/claude"


def test_openai_chat_rows_are_checked():
    good = {"messages": [{"role": "user", "content": "fix it"},
                         {"role": "assistant", "content": "done"}]}
    assert check_openai_chat(good) == []
    assert check_openai_chat({"messages": []})
    assert check_openai_chat({"messages": [{"role": "tool", "content": "x"}]})
    assert "no assistant message to learn from" in check_openai_chat(
        {"messages": [{"role": "user", "content": "x"}]}
    )


def test_llm_agent_records_only_state_changes_and_spares_the_repo():
    assert is_read_only("ls -l /usr/lib | grep ssl")
    assert is_read_only("cat /etc/os-release 2>/dev/null; stat -c %Y /x")
    assert not is_read_only("chmod 000 /etc/ssl/certs")
    assert not is_read_only("echo 'export PATH=/x' > /etc/profile.d/a.sh")
    assert not is_read_only("sed -i 's/a/b/' /etc/x.conf")
    assert not is_read_only("pip uninstall -y pyyaml")
    assert not is_read_only("find /usr/lib -name '*.so' -delete")
    assert not is_read_only("echo x &>/etc/f") and not is_read_only("python3 /tmp/break.py")
    assert is_read_only("ls /x >/dev/null 2>&1")
    assert touches_repository("rm -rf /app/tests") and touches_repository("cd /app && ls")
    assert not touches_repository("ls /application /opt/app")
    assert touches_repository("rm -rf app/tests")  # relative to the session's cwd, /
