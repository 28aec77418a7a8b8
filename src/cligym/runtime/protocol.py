"""What the stages need from a container runtime, and the values it hands back.

`DockerRuntime` (runtime/docker.py) is the one real implementation; `FakeRuntime`
(runtime/fake.py) answers from a script so that gold, search and verification logic can be
tested without Docker. Stage code types against `Runtime` and never sees a docker SDK object:
a long-lived container is a `ContainerHandle`, a value the runtime maps back to its own object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str
    duration_sec: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class DiffEntry:
    kind: str  # "A" added, "C" changed, "D" deleted
    path: str


@dataclass(frozen=True)
class PushResult:
    """What a registry answered a push with."""

    digest: str  # sha256:... of the manifest it stored
    layers_uploaded: int
    layers_present: int  # already in the registry (or mounted from another repository there)


@dataclass(frozen=True)
class ContainerHandle:
    """A running container opened by `Runtime.container`; valid until its block exits."""

    id: str
    image: str


class Runtime(Protocol):
    """The container operations gold, probe, invert, verify, grading and export use.

    Bounds hold for every call: `timeout_sec` limits the command inside the container and on
    the client; containers carry the run's labels and resource limits.
    """

    @property
    def run_id(self) -> str:
        """The id every object this run creates is labelled with."""
        ...

    # ------------------------------------------------------------- disposable containers
    def run(
        self,
        image: str,
        argv: Sequence[str],
        *,
        stage: str,
        timeout_sec: int,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        network: bool = True,
        volumes: Mapping[str, Mapping[str, str]] | None = None,
        collect: Sequence[str] = (),
        inputs: Sequence[tuple[Path, str]] = (),
    ) -> tuple[ExecResult, dict[str, bytes]]:
        """Run argv in a fresh container; its result and the tar bytes at `collect` paths."""
        ...

    # ------------------------------------------------------------- long-lived containers
    def container(
        self,
        image: str,
        *,
        stage: str,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        network: bool = True,
    ) -> AbstractContextManager[ContainerHandle]:
        """A container for several `exec` calls, removed when the block exits."""
        ...

    def exec(
        self,
        container: ContainerHandle,
        argv: Sequence[str],
        *,
        timeout_sec: int,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        bound_inside: bool = True,
    ) -> ExecResult: ...

    def read_path(self, container: ContainerHandle, path: str) -> bytes:
        """Tar bytes of `path` in the container (b'' if it does not exist)."""
        ...

    def extract(self, container: ContainerHandle, dest_dir: str, tar_bytes: bytes) -> None: ...

    def put_files(
        self, container: ContainerHandle, dest_dir: str, files: Mapping[str, str | bytes]
    ) -> None: ...

    def diff(
        self, container: ContainerHandle, helper_image: str | None = None
    ) -> list[DiffEntry]: ...

    # ------------------------------------------------------------- images
    def build(
        self,
        context_dir: Path,
        tag: str,
        *,
        kind: str,
        labels: Mapping[str, str] | None = None,
        buildargs: Mapping[str, str] | None = None,
        timeout_sec: int = 1800,
        log_path: Path | None = None,
        nocache: bool = False,
        dockerfile: str = "Dockerfile",
    ) -> str:
        """Build context_dir/`dockerfile` into `tag`; the image id."""
        ...

    def pull(self, ref: str) -> bool: ...

    def push_image(self, image: str, remote_ref: str) -> PushResult:
        """Tag `image` as remote_ref (REGISTRY/REPOSITORY:TAG), push it, drop the tag again."""
        ...

    def import_rootfs(self, tar_path: Path, repository: str, tag: str) -> str: ...

    def remove_image(self, ref: str, *, force: bool = True) -> None: ...

    def image_id(self, ref: str) -> str | None: ...

    def image_exists(self, ref: str) -> bool: ...

    def image_labels(self, ref: str) -> dict[str, str]: ...

    def image_env(self, ref: str) -> dict[str, str]: ...

    def image_size_bytes(self, ref: str) -> int: ...

    def image_created(self, ref: str) -> str: ...

    def load_image(self, path: Path) -> None: ...

    def save_image(
        self, ref: str | Sequence[str], dest: Path | None, *, compresslevel: int = 1
    ) -> int: ...

    # ------------------------------------------------------------- harness leftovers
    def remove_compose_projects(self, prefixes: Sequence[str]) -> list[str]: ...
