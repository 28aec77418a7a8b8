"""`cligym push` to a real registry (Debian's docker-registry) and `export --registry`, run by
Harbor on a second Docker Engine that has never held cligym's images: each task is pulled by
digest, and grades there as it did where it was made."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import yaml

from cligym.harness.harbor import run_harbor
from cligym.runtime.compose import ensure_compose
from cligym.runtime.docker import DockerRuntime
from cligym.testbed.attempt import run_attempt
from tests.docker.servers import clean_daemon, local_registry

pytestmark = [pytest.mark.docker, pytest.mark.slow]
NETWORK_TOOLS = ("apt-get", "pip", "curl", "wget")


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    with local_registry() as address:
        yield f"{address}/cligym"


def test_pushed_tasks_grade_alike_on_a_daemon_that_never_saw_them(
    sample_tasks, workspace, registry: str, tmp_path: Path
):
    # that daemon's containers have no way out: a task whose repair downloads is not for here
    offline = [t for t in sample_tasks if not any(w in " ".join(t.solution) for w in NETWORK_TOOLS)]
    assert offline, "the sample has no task whose repair works offline"
    task = offline[0]
    report = workspace.push(registry, names=[task.name])
    assert not report.skipped, report.skipped
    (gold,), (pushed,) = report.of("gold"), report.of("task")
    assert gold.layers_uploaded >= 2
    # the task image is its gold image plus one layer: that is all its push uploads
    assert pushed.layers_uploaded == 1
    assert pushed.layers_present == gold.layers_uploaded + gold.layers_present
    (mirror,) = report.of("mirror")  # the package mirror of the task network, beside its gold
    assert [p.kind for p in report.pushed] == ["gold", "mirror", "task"]
    again = workspace.push(registry, names=[task.name])
    assert [p.digest for p in again.pushed] == [gold.digest, mirror.digest, pushed.digest]
    assert sum(p.layers_uploaded for p in again.pushed) == 0

    out = tmp_path / "dataset"
    workspace.export(out, "harbor", names=[task.name], gold_images="none", registry=registry)
    config = tomllib.loads((out / task.name / "task.toml").read_text())
    assert config["environment"]["docker_image"] == pushed.pinned
    assert (out / task.name / "environment/Dockerfile").read_text().startswith(
        f"FROM {gold.pinned}\n"
    )
    assert not (out / "images").exists()
    compose = yaml.safe_load((out / task.name / "environment/docker-compose.yaml").read_text())
    assert compose["services"]["mirror"]["image"] == mirror.pinned

    ensure_compose()
    with clean_daemon() as host:
        client = docker.DockerClient(base_url=host)
        assert client.images.list() == []
        jobs = tmp_path / "jobs"
        for agent, expected in (("oracle", 1.0), ("nop", 0.0)):
            runs = run_harbor(
                out, agent, task_names=[task.name], jobs_dir=jobs, job_name=agent,
                concurrency=1, env={"DOCKER_HOST": host},
            )
            assert [(r.reward, r.error) for r in runs] == [(expected, "")], runs
        assert client.images.get(pushed.pinned).id == task.image_id  # the bytes verified here
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DOCKER_HOST", host)
            there = DockerRuntime()
        gold_env = workspace.get_gold(task.gold_id)
        outcome = run_attempt(there, gold_env, (), timeout_sec=600, image=pushed.pinned,
                              stage="verify")
        assert outcome.applied, outcome.output_tail[-500:]
        # and that daemon's containers had no way out: the task was repaired offline
        probe = "import socket; socket.create_connection(('deb.debian.org', 80), timeout=5)"
        with pytest.raises(docker.errors.ContainerError) as refused:
            client.containers.run(pushed.pinned, ["python3", "-I", "-c", probe], remove=True)
        said = str(refused.value.stderr)
        assert any(w in said for w in ("unreachable", "timed out", "gaierror", "refused")), said
        client.close()

    # the same tests fail there as here, and no other: the documented command in the pulled
    # task image, on that daemon (an unmeasured nop could stop at the verifier's integrity check)
    failing = outcome.failing
    assert set(failing) == set(task.fail_to_pass), sorted(set(failing) ^ set(task.fail_to_pass))
