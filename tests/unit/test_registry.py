"""`cligym push` and `export --registry`, on the fake runtime and a real catalog."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from cligym.catalog import Catalog
from cligym.harness.datasets import base_images, prebuilt_image
from cligym.package.export.layouts import ExportItem, render_harbor, render_tb
from cligym.package.export.manifest import manifest_row
from cligym.package.registry import (
    Registry,
    RegistryError,
    parse_registry,
    push_images,
    registry_refs,
)
from cligym.runtime.fake import FakeRuntime
from tests.unit.test_package import _gold, _item, _task


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("localhost:5000/cligym", ("localhost:5000", "cligym")),
        ("localhost/cligym", ("localhost", "cligym")),
        ("127.0.0.1:5000/team/envs/", ("127.0.0.1:5000", "team/envs")),
        ("registry.example.com/team", ("registry.example.com", "team")),
    ],
)
def test_registry_names_docker_reads_as_a_registry_are_accepted(spec, expected):
    target = parse_registry(spec)
    assert (target.host, target.namespace) == expected
    host, namespace = expected
    assert target.remote("cligym-task/demo:ab") == f"{host}/{namespace}/cligym-task/demo:ab"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("cligym/tasks", "Docker Hub namespace"),  # Docker would push this to Docker Hub
        ("localhost:5000", "HOST[:PORT]/NAMESPACE"),
        ("http://localhost:5000/x", "without http://"),
        ("localhost:5000/Team", "not a Docker repository name"),
        ("localhost:port/x", "not a registry host"),
    ],
)
def test_registry_names_docker_would_misread_get_one_line_errors(spec, says):
    with pytest.raises(RegistryError, match=re.escape(says)) as err:
        parse_registry(spec)
    assert "\n" not in str(err.value)


def _catalog_with_task(tmp_path: Path, fake: FakeRuntime):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    gold = _gold()
    gold = gold.model_copy(update={"image_id": fake.add_image(gold.image_tag).id})
    task = _task()
    task = task.model_copy(update={"image_id": fake.add_image(task.image_tag).id})
    catalog.put_gold(gold)
    return catalog, gold, task


def test_push_sends_each_gold_before_its_tasks_and_records_the_digests(tmp_path: Path):
    fake = FakeRuntime()
    catalog, gold, task = _catalog_with_task(tmp_path, fake)
    second = task.model_copy(update={"id": "2" * 16, "name": "demo-two", "image_tag": "t/two:1"})
    second = second.model_copy(update={"image_id": fake.add_image("t/two:1").id})
    target = Registry("localhost:5000", "team")
    report = push_images(catalog, fake, target, [task, second], {gold.id: gold}, mirrors=False)
    pushes = fake.calls_of("push_image")
    # the verified image, by id, under its tag's name there
    assert [(c.image, c.argv[0]) for c in pushes] == [
        (gold.image_id, f"localhost:5000/team/{gold.image_tag}"),
        (task.image_id, f"localhost:5000/team/{task.image_tag}"),
        (second.image_id, "localhost:5000/team/t/two:1"),
    ]
    assert [p.kind for p in report.pushed] == ["gold", "task", "task"] and not report.skipped
    stored = catalog.get_push("localhost:5000/team", task.image_id)
    assert stored is not None and stored.digest.startswith("sha256:")
    assert stored.pinned == f"localhost:5000/team/{task.image_tag.split(':')[0]}@{stored.digest}"
    refs = registry_refs(catalog, target, task, gold)
    assert refs.task == stored.pinned and refs.gold.endswith(
        "@" + catalog.get_push(str(target), gold.image_id).digest  # type: ignore[union-attr]
    )
    # another registry holds nothing yet
    with pytest.raises(RegistryError, match="cligym push --registry localhost:5001/team"):
        registry_refs(catalog, Registry("localhost:5001", "team"), task, gold)


def test_push_sends_the_verified_image_even_if_its_tag_moved_and_skips_one_gone(tmp_path: Path):
    fake = FakeRuntime()
    catalog, gold, task = _catalog_with_task(tmp_path, fake)
    moved = task.model_copy(update={"id": "3" * 16, "name": "demo-moved", "image_tag": "t/m:1",
                                    "image_id": fake.add_image("t/m-verified:1").id})
    fake.add_image("t/m:1")  # the tag now names a rebuild, not the image verified
    gone = task.model_copy(update={"id": "4" * 16, "name": "demo-gone", "image_tag": "t/g:1",
                                   "image_id": "sha256:" + "0" * 16})
    report = push_images(
        catalog, fake, Registry("localhost:5000", "x"), [task, moved, gone], {gold.id: gold},
        mirrors=False,
    )
    assert [p.image_id for p in report.pushed] == [gold.image_id, task.image_id, moved.image_id]
    assert dict(report.skipped) == {
        "demo-gone": "the image verified as t/g:1 is not in the Docker Engine: verify it again "
        "first",
    }
    del fake.images[gold.image_tag]
    report = push_images(catalog, fake, Registry("localhost:5000", "y"), [task], {gold.id: gold},
                         mirrors=False)
    assert not report.pushed and [n for n, _ in report.skipped] == [gold.name, task.name]


def test_a_pushed_task_names_its_pinned_image_and_builds_from_the_pinned_gold(tmp_path: Path):
    from harbor.models.task.config import TaskConfig

    fake = FakeRuntime()
    catalog, gold, task = _catalog_with_task(tmp_path, fake)
    target = Registry("localhost:5000", "team")
    push_images(catalog, fake, target, [task], {gold.id: gold}, mirrors=False)
    refs = registry_refs(catalog, target, task, gold)
    base = _item()
    item = ExportItem(task, base.gold, base.issue, "none", base.kit, base.secrets, refs=refs)
    files = render_harbor(item)
    config = TaskConfig.model_validate(tomllib.loads(files["task.toml"].decode()))
    assert config.environment.docker_image == refs.task and "@sha256:" in refs.task
    assert config.metadata["docker_image"] == refs.task
    dockerfile = files["environment/Dockerfile"].decode()
    assert dockerfile == task.dockerfile.replace("g/demo:abcdef0123456789", refs.gold, 1)
    assert render_tb(item)["Dockerfile"].decode() == dockerfile
    row = manifest_row(item)
    assert row["docker_image"] == refs.task and row["dockerfile"] == dockerfile
    assert manifest_row(base)["docker_image"] == ""
    plain = tomllib.loads(render_harbor(base)["task.toml"].decode())
    assert "docker_image" not in plain["environment"]
    # compose still adds the trusted mount to the prebuilt image's service
    main = yaml.safe_load(files["environment/docker-compose.yaml"])["services"]["main"]
    assert main["volumes"] == ["./cligym-trusted:/opt/cligym:ro"]

    # a validation needs no gold image for a task that names a prebuilt one
    for name, content in (("pulled", files), ("built", render_harbor(base))):
        for rel, data in content.items():
            path = tmp_path / "ds" / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    dirs = [tmp_path / "ds" / "built", tmp_path / "ds" / "pulled"]
    assert prebuilt_image(dirs[1]) == refs.task and prebuilt_image(dirs[0]) == ""
    assert base_images(dirs, "harbor") == {"g/demo:abcdef0123456789"}
