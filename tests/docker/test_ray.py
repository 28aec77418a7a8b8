"""The Ray executor on a real local Ray cluster (2 CPUs): units run in Ray workers with their
own work directory, records come back to the driver's catalog, images travel through Ray's
object store."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from cligym.api import Workspace, sample_repo_path
from cligym.config import Settings
from cligym.ids import run_id_pid
from cligym.pipeline.run import run_pipeline
from cligym.pipeline.spec import PipelineSpec, RepoSpec

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _tiny_image(runtime, tag: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        body = b"cligym ray transfer test\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    repo, _, version = tag.partition(":")
    runtime.client.api.import_image_from_data(buf.getvalue(), repository=repo, tag=version)


def test_ray_executor_on_a_local_cluster(runtime, tmp_path: Path):
    import ray

    from cligym.pipeline.ray_exec import RayExecutor

    spec = PipelineSpec(
        repos=(RepoSpec(source=str(sample_repo_path())), RepoSpec(source="pypi:iniconfig==2.3.0")),
        budget=2,
        workers=2,
        export_format="none",
    )
    ws = Workspace(Settings.from_env(tmp_path / "driver"), runtime=runtime)
    executor = RayExecutor(ws, spec, num_cpus=2, worker_root=str(tmp_path / "workers"))
    tag = "cligym-test/raycopy:1"
    try:
        report = run_pipeline(ws, spec, executor=executor)
        assert [r.error for r in report.repos] == ["", ""], report.repos
        assert sorted(g.name for g in ws.list_gold()) == ["iniconfig", "stashkit"]
        attempts = ws.catalog.list_attempts()
        assert len(attempts) == 4
        assert all(run_id_pid(a.run_id) != os.getpid() for a in attempts), "ran in the driver"
        assert (tmp_path / "workers" / "cligym-ray-work" / "catalog.sqlite3").is_file()
        verified = {v.candidate_id for v in ws.catalog.list_verify_results()}
        assert verified == {c.id for c in ws.catalog.list_candidates()}
        assert len(ws.list_tasks()) == sum(r.tasks for r in report.repos)

        _tiny_image(runtime, tag)
        node = ray.get_runtime_context().get_node_id()
        data = executor.image_bytes(tag, node)
        runtime.remove_image(tag)
        assert not runtime.image_exists(tag)
        executor.load_image_bytes(data)
        assert runtime.image_exists(tag)
    finally:
        runtime.remove_image(tag)
        ray.shutdown()
