"""`cligym push`: gold and task images into a registry, so that nodes pull what they run.

A task image is its gold image plus the thin layer of the fault steps. Each gold image is pushed
before its tasks, so a task push uploads only that layer: the registry already holds the rest.
Every push is recorded in the catalog with the digest the registry answered, and
`cligym export --registry` pins each task's prebuilt image to it (`REPOSITORY@sha256:...`): a
node runs the bytes that were verified, never whatever a tag points at later.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cligym.catalog import Catalog
from cligym.errors import CligymError
from cligym.package.mirror import ensure_gold_mirror
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import GoldEnv, PushedImage, Task
from cligym.runtime.protocol import Runtime

# Docker's reference grammar: a first component is a registry host only if it has a dot or a
# port, or is `localhost`; otherwise Docker takes it for a Docker Hub namespace.
_HOST = re.compile(
    r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$"
)
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


class RegistryError(CligymError):
    """The registry cannot be used as given, or holds no image the export asks for."""


@dataclass(frozen=True)
class Registry:
    """HOST[:PORT]/NAMESPACE: where images go, as Docker names them."""

    host: str
    namespace: str

    def __str__(self) -> str:
        return f"{self.host}/{self.namespace}"

    def remote(self, local_tag: str) -> str:
        """A local image's name there: cligym-task/x:abc -> HOST/NS/cligym-task/x:abc."""
        return f"{self}/{local_tag}"


def parse_registry(spec: str) -> Registry:
    """`HOST[:PORT]/NAMESPACE` -> Registry; a one-line error for anything Docker would misread."""
    text = spec.strip().rstrip("/")
    for scheme in ("http://", "https://"):
        if text.startswith(scheme):
            raise RegistryError(f"--registry takes HOST[:PORT]/NAMESPACE without {scheme}")
    host, _, namespace = text.partition("/")
    if not host or not namespace:
        raise RegistryError(
            f"--registry must be HOST[:PORT]/NAMESPACE (e.g. localhost:5000/cligym); got {spec!r}"
        )
    named = host == "localhost" or host.startswith(("localhost:", "[")) or any(
        c in host for c in ".:"
    )
    if not _HOST.match(host) or not named:
        raise RegistryError(
            f"{host!r} is not a registry host: Docker takes a first component without a dot or "
            "a port for a Docker Hub namespace (write e.g. docker.io/NAME or HOST:PORT/NAME)"
        )
    bad = [part for part in namespace.split("/") if not _COMPONENT.match(part)]
    if bad:
        raise RegistryError(
            f"namespace part {bad[0]!r} is not a Docker repository name "
            "(lowercase letters, digits, and . _ - between them)"
        )
    return Registry(host, namespace)


@dataclass(frozen=True)
class PushReport:
    registry: str
    pushed: tuple[PushedImage, ...]
    skipped: tuple[tuple[str, str], ...]  # (task or gold name, why)
    duration_sec: float

    def of(self, kind: str) -> list[PushedImage]:
        return [p for p in self.pushed if p.kind == kind]


def push_images(
    catalog: Catalog,
    runtime: Runtime,
    registry: Registry,
    tasks: Sequence[Task],
    golds: dict[str, GoldEnv],
    reporter: Reporter = NULL_REPORTER,
    *,
    mirrors: bool = True,
) -> PushReport:
    """Push the gold image of every task, its package mirror (unless `mirrors` is False),
    then every task image; record each digest."""
    started = time.monotonic()
    pushed: list[PushedImage] = []
    skipped: list[tuple[str, str]] = []
    by_gold: dict[str, list[Task]] = {}
    for task in tasks:
        by_gold.setdefault(task.gold_id, []).append(task)
    total = len(tasks) + len(by_gold)
    done = 0
    for gold_id, its_tasks in by_gold.items():
        gold = golds[gold_id]
        done += 1
        reporter.progress("push", done, total, gold.image_tag)
        why = _not_pushable(runtime, gold.image_tag, gold.image_id)
        if why:
            skipped.append((gold.name, why))
            skipped.extend((t.name, f"its gold image is not pushed ({why})") for t in its_tasks)
            done += len(its_tasks)
            continue
        pushed.append(_push(catalog, runtime, registry, "gold", gold.image_tag, gold.image_id,
                            gold.id))
        if mirrors:
            # the package mirror of the task network: built here if need be, pushed beside
            tag = ensure_gold_mirror(runtime, gold, reporter)
            pushed.append(_push(catalog, runtime, registry, "mirror", tag,
                                runtime.image_id(tag) or "", gold.id))
        for task in its_tasks:
            done += 1
            reporter.progress("push", done, total, task.name)
            why = _not_pushable(runtime, task.image_tag, task.image_id)
            if why:
                skipped.append((task.name, why))
                continue
            pushed.append(_push(catalog, runtime, registry, "task", task.image_tag,
                                task.image_id, gold.id))
    return PushReport(str(registry), tuple(pushed), tuple(skipped), time.monotonic() - started)


def _not_pushable(runtime: Runtime, tag: str, image_id: str) -> str:
    """Empty when the verified image (by id: its tag may name a rebuild since) is here."""
    if runtime.image_id(image_id) != image_id:
        return f"the image verified as {tag} is not in the Docker Engine: verify it again first"
    return ""


def _push(
    catalog: Catalog,
    runtime: Runtime,
    registry: Registry,
    kind: str,
    tag: str,
    image_id: str,
    gold_id: str,
) -> PushedImage:
    remote = registry.remote(tag)
    result = runtime.push_image(image_id, remote)  # the verified bytes, not what the tag names
    record = PushedImage(
        registry=str(registry),
        image_id=image_id,
        kind="gold" if kind == "gold" else "mirror" if kind == "mirror" else "task",
        ref=remote,
        digest=result.digest,
        layers_uploaded=result.layers_uploaded,
        layers_present=result.layers_present,
        created_at=datetime.now(UTC),
    )
    catalog.put_push(record, gold_id)
    return record


@dataclass(frozen=True)
class RegistryRefs:
    """Where an exported task's images are in a registry, pinned by digest."""

    task: str  # the prebuilt task image: Harbor's [environment].docker_image
    gold: str  # what the task's Dockerfile builds FROM when a harness builds anyway


def registry_refs(
    catalog: Catalog, registry: Registry, task: Task, gold: GoldEnv
) -> RegistryRefs:
    """The pinned references of a pushed task, or an error that says how to push it."""
    found = catalog.get_push(str(registry), task.image_id)
    base = catalog.get_push(str(registry), gold.image_id)
    if found is None or base is None:
        raise RegistryError(
            f"task {task.name} is not in {registry}: run `cligym push --registry {registry}` "
            "first"
        )
    return RegistryRefs(found.pinned, base.pinned)
