"""Which executor runs a pipeline's units: a thread pool here, or Ray tasks on a cluster."""

from __future__ import annotations

from cligym.api import Workspace
from cligym.pipeline.ray_exec import RayExecutor
from cligym.pipeline.run import Executor, LocalExecutor, default_workers
from cligym.pipeline.spec import ExecutorKind, PipelineSpec, check_ray_sources


def make_executor(
    ws: Workspace, spec: PipelineSpec, kind: ExecutorKind = "local", address: str | None = None
) -> Executor:
    """The executor `cligym run --executor` names; Ray itself is imported only when units run."""
    if kind == "local":
        return LocalExecutor(spec.workers or default_workers())
    check_ray_sources(spec, address)
    return RayExecutor(ws, spec, address=address, num_cpus=spec.workers or None)
