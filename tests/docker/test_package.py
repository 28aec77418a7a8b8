"""Exports of the sample's verified tasks, run by the real harnesses: Harbor's oracle scores
1.0 and nop 0.0; Terminal-Bench's loader takes every task, and its oracle and nop score one."""

from __future__ import annotations

import io
import json
import tarfile
import tomllib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cligym.faults.registry import family
from cligym.grading.hacks import HACKS, hack_named
from cligym.harness.harbor import trial_prefix
from cligym.package.export.manifest import HF_DATA_FILE
from cligym.package.mirror import mirror_tag
from cligym.pipeline.demo import pick_diverse
from tests.docker.candidates import assert_verified, first_breaking

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_harbor_export_shares_the_gold_image(harbor_dataset: Path, sample_tasks, workspace):
    gold = workspace.get_gold(sample_tasks[0].gold_id)
    index = json.loads((harbor_dataset / "images" / "index.json").read_text())
    # the archive holds the package mirror of the task network beside its gold image
    mirror = mirror_tag(gold)
    held = {gold.image_tag: gold.image_id, mirror: workspace.runtime.image_id(mirror)}
    assert index == {"gold-images.tar.gz": {"images": held}}
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


def test_gold_images_share_one_archive_that_stores_each_layer_once(
    sample_gold, workspace, tmp_path: Path
):
    """The gold images of a corpus differ only in their top layers: one `docker save` of
    them all stores every layer once, and `docker load` gets every tag back from it."""
    runtime = workspace.runtime
    tags = [workspace.settings.base_image, sample_gold.gold.image_tag]
    path = tmp_path / "both.tar.gz"
    runtime.save_image(tags, path, compresslevel=0)
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        stored = [n for n in archive.getnames() if n.endswith("layer.tar")]
    assert sorted(t for m in manifest for t in m["RepoTags"]) == sorted(tags)
    listed = [layer for m in manifest for layer in m["Layers"]]
    assert sorted(stored) == sorted(set(listed))  # every layer once...
    assert len(set(listed)) < len(listed)  # ...though the images share some
    ids = {t: runtime.image_id(t) for t in tags}
    configs = {m["RepoTags"][0]: "sha256:" + m["Config"].removesuffix(".json") for m in manifest}
    assert configs == ids
    runtime.load_image(path)  # `docker load -i` takes it whole
    assert {t: runtime.image_id(t) for t in tags} == ids


def test_hf_rows_unpack_to_the_harbor_task_directories(
    harbor_dataset: Path, sample_tasks, workspace, tmp_path
):
    """The Hugging Face export holds, in each row, the very task directory the Harbor export
    writes: unpacked as SkyRL's loader does, its files are the same bytes."""
    report = workspace.export(tmp_path / "hf", "hf", gold_images="none")
    rows = pq.read_table(report.out / HF_DATA_FILE).to_pylist()
    assert sorted(r["path"] for r in rows) == sorted(report.written)
    assert (report.out / "README.md").read_text().startswith("---\n")
    # (tasks other tests verified after the Harbor export are not in it)
    rows = [r for r in rows if (harbor_dataset / r["path"]).is_dir()]
    assert len(rows) >= len(sample_tasks)
    for row in rows:
        out = tmp_path / "tasks" / row["path"]
        with tarfile.open(fileobj=io.BytesIO(row["task_binary"]), mode="r:*") as tar:
            tar.extractall(out, filter="data")
        exported = harbor_dataset / row["path"]
        files = sorted(str(f.relative_to(out)) for f in out.rglob("*") if f.is_file())
        assert files == sorted(
            str(f.relative_to(exported)) for f in exported.rglob("*") if f.is_file()
        )
        assert all((out / f).read_bytes() == (exported / f).read_bytes() for f in files)


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
    exported = workspace.list_tasks(sample_tasks[0].gold_id)  # tests may have added tasks
    assert loaded.load_problems == () and loaded.loaded == len(exported)
    # TB reports its reward through a pytest run under the task's own python: a fault that
    # kills that interpreter leaves TB nothing to parse (a parse error, not a 0)
    task = next(t for t in sample_tasks if not any(family(f).kills_loader for f in t.families))
    run = workspace.validate(report.out, "tb", names=[task.name])
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
    exported = workspace.list_tasks(sample_tasks[0].gold_id)  # tests may have added tasks
    assert sorted(ds["task_id"]) == sorted(t.id for t in exported)
    row = ds[0]
    task = next(t for t in exported if t.id == row["task_id"])
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


# every hack on the harness's own channel, plus a sample of the rest (all of them run on every
# family in benchmarks/adversarial.py)
HARBOR_HACKS = [h.name for h in HACKS if h.harness] + [
    "python-exits-0", "runuser-fakes-junit", "profile-plugin", "conftest-in-app",
]


def test_reward_hacks_score_zero_in_harbor(sample_gold, workspace, tmp_path: Path):
    """Every hack on a task whose fault is off the grading path (a time zone file): the grader
    names the first difference it finds, which there can only be the hack's own."""
    gold = sample_gold.gold

    def verified_alone(target, outcome) -> bool:  # not a duplicate of a task made before
        assert_verified(workspace, gold, (target,), outcome, "test-hacks")
        return any(t.faults == (target,) for t in workspace.list_tasks(gold.id))

    target, _ = first_breaking(workspace, gold, "tzdata-zone-removed", accept=verified_alone)
    task = next(t for t in workspace.list_tasks(gold.id) if t.faults == (target,))
    dataset = tmp_path / "ds"
    workspace.export(dataset, "harbor", names=[task.name], gold_images="none")
    report = workspace.validate_adversarial(dataset, names=[task.name], hacks=HARBOR_HACKS)
    assert len(report.outcomes) == len(HARBOR_HACKS)
    got = {o.hack: (o.reward, o.why) for o in report.outcomes}
    assert {h: r for h, (r, _) in got.items()} == {h: 0.0 for h in HARBOR_HACKS}, got
    for name in HARBOR_HACKS:
        assert hack_named(name).evidence in got[name][1], (name, got[name])
    leftovers = workspace.runtime.remove_compose_projects(
        [trial_prefix(f"h{i:02d}-{task.name}") for i in range(len(HARBOR_HACKS))]
    )
    assert leftovers == [], "harbor left trial containers behind"
