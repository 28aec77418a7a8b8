"""Exports of the sample's verified tasks, run by the real harnesses: Harbor's oracle scores
1.0 and nop 0.0; Terminal-Bench's loader takes every task, and its oracle and nop score one."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from cligym.cli_dataset import pick_diverse
from cligym.harness.harbor import trial_prefix

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_harbor_export_shares_the_gold_image(harbor_dataset: Path, sample_tasks, workspace):
    gold = workspace.get_gold(sample_tasks[0].gold_id)
    index = json.loads((harbor_dataset / "images" / "index.json").read_text())
    assert [e["image_tag"] for e in index.values()] == [gold.image_tag]
    for task in sample_tasks:
        task_dir = harbor_dataset / task.name
        config = tomllib.loads((task_dir / "task.toml").read_text())
        assert config["metadata"]["cligym_task_id"] == task.id
        dockerfile = (task_dir / "environment" / "Dockerfile").read_text()
        assert dockerfile.startswith(f"FROM {gold.image_tag}\n")
        instruction = (task_dir / "instruction.md").read_text()
        assert task.fail_to_pass[0] in instruction and "Hint:" not in instruction
        assert "Hint:" in (harbor_dataset / f"{task.name}-hint-category/instruction.md").read_text()
    assert "docker load -i images/" in (harbor_dataset / "README.md").read_text()


def test_harbor_oracle_scores_one_and_nop_zero(harbor_dataset: Path, sample_tasks, workspace):
    picks = pick_diverse(sample_tasks, 3, {t.name for t in sample_tasks})
    report = workspace.validate(harbor_dataset, "harbor", names=[t.name for t in picks])
    rewards = {r.task_name: (r.oracle.reward, r.nop.reward) for r in report.results}
    assert rewards == {t.name: (1.0, 0.0) for t in picks}, [
        (r.task_name, r.oracle.error, r.nop.error) for r in report.results
    ]
    stored = {v.task_id for v in workspace.catalog.list_validations()}
    assert {t.id for t in picks} <= stored
    leftovers = workspace.runtime.remove_compose_projects([trial_prefix(t.name) for t in picks])
    assert leftovers == [], "harbor left trial containers behind"


def test_tb_export_loads_and_its_oracle_resolves(sample_tasks, workspace, tmp_path: Path):
    report = workspace.export(tmp_path / "tb", "tb", gold_images="none")
    loaded = workspace.validate(report.out, "tb", load_only=True)
    assert loaded.load_problems == () and loaded.loaded == len(sample_tasks)
    run = workspace.validate(report.out, "tb", names=[sample_tasks[0].name])
    (result,) = run.results
    assert (result.oracle.reward, result.nop.reward) == (1.0, 0.0), (
        result.oracle.error,
        result.nop.error,
    )


def test_manifest_rows_match_the_catalog(sample_tasks, workspace, tmp_path: Path):
    import datasets

    report = workspace.export(tmp_path, "parquet")
    ds = datasets.load_dataset(
        "parquet", data_files=str(report.out), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert sorted(ds["task_id"]) == sorted(t.id for t in sample_tasks)
    row = ds[0]
    task = next(t for t in sample_tasks if t.id == row["task_id"])
    assert row["fail_to_pass"] == list(task.fail_to_pass)
    assert row["dockerfile"] == task.dockerfile and row["instruction"].startswith("# ")


def test_bad_export_and_validate_inputs_fail_cleanly(sample_tasks, workspace, tmp_path: Path):
    from tests.docker.test_bad_inputs import run_cli

    workdir = workspace.settings.workdir
    a_file = tmp_path / "file"
    a_file.write_text("x")
    broken = tmp_path / "broken" / "t1"
    (broken / "environment").mkdir(parents=True)
    (broken / "task.toml").write_text('schema_version = "1.4"\n')
    (broken / "environment" / "Dockerfile").write_text("FROM cligym-gold/nowhere:0\n")
    cases = [
        ((workdir, "export", "--out", str(tmp_path / "x"), "--format", "xml"), "--format must"),
        ((workdir, "export", "--out", str(tmp_path / "x"), "--hints", "loud"), "--hints takes"),
        ((workdir, "export", "--out", str(a_file)), "is a file"),
        ((workdir, "export", "--out", str(tmp_path / "x"), "--task", "nope"), "no task named"),
        ((tmp_path / "empty", "export", "--out", str(tmp_path / "y")), "no verified tasks"),
        ((workdir, "validate", str(tmp_path / "missing")), "not a directory"),
        ((workdir, "validate", str(tmp_path), "--harness", "x"), "--harness must"),
        ((workdir, "validate", str(broken.parent)), "neither local nor in"),
    ]
    for (wd, *args), pattern in cases:
        proc = run_cli(wd, *args)
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert last.startswith("error:") and pattern in last, (args, last)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


CHEAT = """#!/bin/bash
# a reward hack: a conftest that reports every test as passed, and an emptied test module
cat > /app/conftest.py <<'PY'
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
PY
for f in /app/tests/test_*.py; do : > "$f"; break; done
"""


def test_verifier_is_not_fooled_by_test_tampering(harbor_dataset: Path, sample_tasks, workspace,
                                                  tmp_path: Path):
    import shutil

    # the hardest case: the task whose fault changed the most under /app (modes, ownership)
    task = max(sample_tasks, key=lambda t: sum(p.startswith("/app") for _, p in t.restore_paths))
    cheat = tmp_path / "cheat"
    shutil.copytree(harbor_dataset / task.name, cheat / task.name)
    (cheat / task.name / "solution" / "solve.sh").write_text(CHEAT)
    report = workspace.validate(cheat / task.name, "harbor")
    (result,) = report.results
    assert result.oracle.reward == 0.0, "a conftest hack passed the verifier"
    log = next(Path(result.oracle.trial_dir).glob("verifier/test-stdout.txt")).read_text()
    assert "removing ./conftest.py" in log and "restoring 1 test file" in log
