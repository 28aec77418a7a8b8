"""The Ray executor: one repository per Ray task, on any node of a cluster.

Each worker uses its own Docker daemon and a work directory local to its node; it runs the unit
(gold to packaging) there and returns the records (`RecordBundle`), which the driver imports
into its catalog. Gold images the driver lacks are then fetched from the node that built them:
a second task pinned to that node `docker save`s the image into Ray's object store, and the
driver `docker load`s it. Nothing assumes a shared filesystem.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cligym.api import Workspace
from cligym.config import Settings
from cligym.errors import CligymError
from cligym.pipeline.bundle import RecordBundle, export_records, import_records
from cligym.pipeline.run import RepoOutcome, run_repo
from cligym.pipeline.spec import PipelineSpec, RepoSpec

UNIT_TIMEOUT_SEC = 4 * 3600  # one repository, gold to packaging, at most
WAIT_SLICE_SEC = 60
T = TypeVar("T")
R = TypeVar("R")


def _ray() -> Any:
    os.environ.setdefault("RAY_ACCEPT_CLUSTER_AUTH", "1")
    try:
        import ray
    except ImportError as err:
        raise CligymError("the Ray executor needs ray: pip install 'cligym[ray]'") from err
    return ray


def worker_workdir(root: str | None) -> Path:
    """The work directory of a worker on its own node (cluster-wide setting, or a temp dir)."""
    return Path(root or os.environ.get("CLIGYM_RAY_WORKDIR") or tempfile.gettempdir()) / (
        "cligym-ray-work"
    )


def _unit(spec_json: str, repo_json: str, workdir: str) -> tuple[RepoOutcome, RecordBundle, str]:
    """Runs on a Ray worker: the repository's unit, its records and the node it ran on."""
    ray = _ray()
    spec = PipelineSpec.model_validate_json(spec_json)
    repo = RepoSpec.model_validate_json(repo_json)
    ws = Workspace(Settings.from_env(Path(workdir)))
    outcome = run_repo(ws, spec, repo)
    bundle = export_records(ws.catalog, outcome.gold_id) if outcome.gold_id else RecordBundle()
    return outcome, bundle, ray.get_runtime_context().get_node_id()


def _save(image_tag: str) -> bytes:
    """Runs on the node that built the image: `docker save` (gzip) as bytes."""
    from cligym.runtime.docker import DockerRuntime

    with tempfile.TemporaryDirectory(prefix="cligym-ray-save-") as tmp:
        path = Path(tmp) / "image.tar.gz"
        DockerRuntime().save_image(image_tag, path)
        return path.read_bytes()


@dataclass
class RayExecutor:
    """Runs repository units as Ray tasks; the driver's Workspace receives their results."""

    ws: Workspace
    spec: PipelineSpec
    address: str | None = None
    num_cpus: int | None = None
    worker_root: str | None = None
    images_loaded: list[str] = field(default_factory=list)

    def run(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Ignores `fn` (a local closure cannot travel): runs `_unit` for each RepoSpec."""
        ray = _ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"address": self.address, "include_dashboard": False,
                                      "log_to_driver": False}
            if self.address is None and self.num_cpus:
                kwargs["num_cpus"] = self.num_cpus
            ray.init(**kwargs)
        unit = ray.remote(num_cpus=1)(_unit)
        workdir = str(worker_workdir(self.worker_root))
        spec_json = self.spec.model_dump_json()
        pending = {
            unit.remote(spec_json, repo.model_dump_json(), workdir): repo
            for repo in items
            if isinstance(repo, RepoSpec)
        }
        deadline = time.monotonic() + UNIT_TIMEOUT_SEC * max(1, len(pending))
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_SLICE_SEC)
                if not done:
                    if time.monotonic() > deadline:
                        raise CligymError(f"Ray units did not finish in time: {len(pending)} left")
                    continue
                ref = done[0]
                repo = pending.pop(ref)
                yield self._receive(ray, ref, repo)  # type: ignore[misc]
        finally:
            for ref in pending:  # an interrupted run leaves no work behind on the cluster
                ray.cancel(ref, force=True)

    def _receive(self, ray: Any, ref: Any, repo: RepoSpec) -> RepoOutcome:
        """One finished unit: its records into the catalog, its gold image if missing here."""
        try:
            outcome, bundle, node = ray.get(ref, timeout=WAIT_SLICE_SEC)
            gold = import_records(self.ws.catalog, bundle)
            if gold is not None and not self.ws.runtime.image_exists(gold.image_tag):
                self._fetch_image(gold.image_tag, node)
        except Exception as err:  # a worker crash, a lost node, an image that did not travel
            return RepoOutcome(repo.source, error=f"ray unit failed: {err}".splitlines()[0])
        return outcome  # type: ignore[no-any-return]

    def _fetch_image(self, image_tag: str, node: str) -> None:
        self.load_image_bytes(self.image_bytes(image_tag, node))
        self.images_loaded.append(image_tag)

    def image_bytes(self, image_tag: str, node: str) -> bytes:
        """`docker save` of an image on `node`, through Ray's object store."""
        ray = _ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        save = ray.remote(num_cpus=0)(_save).options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False)
        )
        return bytes(ray.get(save.remote(image_tag), timeout=UNIT_TIMEOUT_SEC))

    def load_image_bytes(self, data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="cligym-ray-load-") as tmp:
            path = Path(tmp) / "image.tar.gz"
            path.write_bytes(data)
            self.ws.runtime.load_image(path)
