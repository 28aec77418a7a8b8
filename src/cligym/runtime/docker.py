"""The Docker adapter: the only module that talks to the Docker Engine (through the docker SDK).

Every container and image it creates carries labels (`cligym`, `cligym.run`, `cligym.stage`), every
container gets cpu/memory/pids limits, every command a time limit both inside the container
(`timeout -k`) and on the client. Containers are removed in `finally` blocks, at interpreter exit,
and by `gc` for runs that died (their pid is encoded in the run id).
"""

from __future__ import annotations

import atexit
import gzip
import io
import logging
import os
import tarfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container
from docker.utils import parse_repository_tag

from cligym.config import ContainerLimits
from cligym.errors import CommandTimeoutError, DockerOperationError, DockerUnavailableError
from cligym.ids import new_run_id, run_id_pid
from cligym.runtime.archive import read_file_from_tar
from cligym.runtime.protocol import ContainerHandle, DiffEntry, ExecResult, PushResult, Runtime

__all__ = [
    "ContainerHandle",
    "DiffEntry",
    "DockerRuntime",
    "ExecResult",
    "GcReport",
    "read_file_from_tar",
    "remove_all_live_containers",
    "run_is_alive",
    "with_timeout",
]

log = logging.getLogger(__name__)

LABEL = "cligym"
LABEL_RUN = "cligym.run"
LABEL_STAGE = "cligym.stage"
# Images carry different keys than containers: containers inherit their image's labels, and a
# container someone else starts from a gold image (a harness, a user) is not ours to collect.
LABEL_IMAGE = "cligym.image"
LABEL_IMAGE_RUN = "cligym.image.run"
OUTPUT_TAIL_CHARS = 200_000
_KILL_GRACE_SEC = 5
_CLIENT_SLACK_SEC = 30

_live_containers: dict[str, DockerRuntime] = {}
_live_lock = threading.Lock()
_atexit_installed = False
_refuse_new = False


@dataclass(frozen=True)
class GcReport:
    containers: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    kept_live: tuple[str, ...] = field(default=())
    staging_dirs: tuple[str, ...] = field(default=())


def with_timeout(argv: Sequence[str], timeout_sec: int) -> list[str]:
    """Bound a command inside the container: SIGTERM at the limit, SIGKILL a little later."""
    return ["timeout", "-k", str(_KILL_GRACE_SEC), str(int(timeout_sec)), *argv]


def _tail(text: str) -> str:
    return text if len(text) <= OUTPUT_TAIL_CHARS else text[-OUTPUT_TAIL_CHARS:]


def _cleanup_all_live() -> None:
    with _live_lock:
        items = list(_live_containers.items())
    for container_id, runtime in items:
        runtime.remove_container(container_id)


def remove_all_live_containers() -> int:
    """Remove every container this process still has, and refuse new ones from then on.

    For an interrupt while worker threads are mid-unit: the process exits without waiting for
    them, and a thread that creates a container in between gets it removed at once.
    """
    global _refuse_new
    with _live_lock:
        _refuse_new = True
        count = len(_live_containers)
    _cleanup_all_live()
    return count


class DockerRuntime:
    """One client, one run id; every Docker object this run creates is labelled with it."""

    def __init__(
        self,
        *,
        run_id: str | None = None,
        limits: ContainerLimits | None = None,
        api_timeout_sec: int = 120,
    ) -> None:
        self.run_id = run_id or new_run_id()
        self.limits = limits or ContainerLimits()
        self._open: dict[str, Container] = {}  # ContainerHandle.id -> the SDK's object
        try:
            self.client = docker.from_env(timeout=api_timeout_sec)
            self.client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
            raise DockerUnavailableError(
                "Docker daemon is not reachable "
                f"({_short(err)}); start it with `dockerd >/var/log/dockerd.log 2>&1 &` "
                "(or `systemctl start docker`), or run `./dev setup`"
            ) from err

    # ----------------------------------------------------------------- labels and info
    def labels(self, stage: str, **extra: str) -> dict[str, str]:
        """Labels of a container this run creates."""
        return {LABEL: "1", LABEL_RUN: self.run_id, LABEL_STAGE: stage, **extra}

    def image_labels_for(self, kind: str, **extra: str) -> dict[str, str]:
        """Labels of an image this run creates (`kind`: base, gold, ...)."""
        return {LABEL_IMAGE: kind, LABEL_IMAGE_RUN: self.run_id, **extra}

    def info(self) -> dict[str, Any]:
        return dict(self.client.info())

    def image_id(self, ref: str) -> str | None:
        try:
            return str(self.client.images.get(ref).id)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as err:
            raise DockerOperationError(f"cannot inspect image {ref}: {_short(err)}") from err

    def image_labels(self, ref: str) -> dict[str, str]:
        try:
            return dict(self.client.images.get(ref).labels or {})
        except docker.errors.ImageNotFound:
            return {}

    def image_env(self, ref: str) -> dict[str, str]:
        """The environment an image's containers start with (its `ENV` lines)."""
        config = self.client.images.get(ref).attrs.get("Config") or {}
        pairs = (item.partition("=") for item in config.get("Env") or [])
        return {name: value for name, _, value in pairs}

    def image_size_bytes(self, ref: str) -> int:
        return int(self.client.images.get(ref).attrs.get("Size", 0))

    def image_created(self, ref: str) -> str:
        """Creation time of an image (RFC 3339, as Docker reports it)."""
        return str(self.client.images.get(ref).attrs.get("Created", ""))

    # ----------------------------------------------------------------- images
    def pull(self, ref: str) -> bool:
        """Try to pull; False (not an exception) when registries are unreachable."""
        try:
            repo, tag = parse_repository_tag(ref)  # HOST:PORT/REPO:TAG and REPO@DIGEST too
            self.client.api.pull(repo, tag=tag or "latest")
            return self.image_id(ref) is not None
        except (docker.errors.APIError, requests.exceptions.RequestException) as err:
            log.info("pull of %s failed: %s", ref, _short(err))
            return False

    def push_image(self, image: str, remote_ref: str) -> PushResult:
        """`docker tag` + `docker push`; the extra tag is removed again either way (the image
        keeps its own). Registries on localhost may speak plain HTTP; others need TLS or an
        `insecure-registries` entry in the daemon's configuration."""
        repo, tag = parse_repository_tag(remote_ref)
        uploaded = present = 0
        digest = ""
        try:
            self.client.api.tag(image, repo, tag)
            try:
                for line in self.client.api.push(repo, tag=tag, stream=True, decode=True):
                    if line.get("error"):
                        raise DockerOperationError(
                            f"docker push {remote_ref} failed: {str(line['error']).strip()}"
                        )
                    status = str(line.get("status", ""))
                    if status == "Pushed":
                        uploaded += 1
                    elif status == "Layer already exists" or status.startswith("Mounted from"):
                        present += 1
                    digest = str(line.get("aux", {}).get("Digest", digest))
            finally:
                self.client.api.remove_image(remote_ref, noprune=True)
        except (docker.errors.APIError, requests.exceptions.RequestException) as err:
            raise DockerOperationError(f"docker push {remote_ref} failed: {_short(err)}") from err
        if not digest.startswith("sha256:"):
            raise DockerOperationError(f"docker push {remote_ref}: the registry sent no digest")
        return PushResult(digest, uploaded, present)

    def import_rootfs(self, tar_path: Path, repository: str, tag: str) -> str:
        """`docker import` a root filesystem tarball; the image gets our labels."""
        changes = [f'LABEL {k}="{v}"' for k, v in self.image_labels_for("base").items()]
        try:
            self.client.api.import_image_from_file(
                str(tar_path), repository=repository, tag=tag, changes=changes
            )
        except docker.errors.APIError as err:
            raise DockerOperationError(f"docker import failed: {_short(err)}") from err
        image = self.image_id(f"{repository}:{tag}")
        if image is None:
            raise DockerOperationError(f"docker import produced no image {repository}:{tag}")
        return image

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
        """Build context_dir/`dockerfile` into `tag`; returns the image id.

        The build log is streamed to `log_path`; a failing build raises with its last lines.
        """
        all_labels = {**self.image_labels_for(kind), **(labels or {})}
        deadline = time.monotonic() + timeout_sec
        lines: list[str] = []
        image_id: str | None = None
        error: str | None = None
        sink = log_path.open("w") if log_path else None
        try:
            stream = self.client.api.build(
                path=str(context_dir),
                dockerfile=dockerfile,
                tag=tag,
                labels=all_labels,
                buildargs=dict(buildargs or {}),
                rm=True,
                forcerm=True,
                pull=False,
                nocache=nocache,
                decode=True,
                container_limits={
                    "memory": self.limits.memory_mb * 2**20,
                    "memswap": self.limits.memory_mb * 2**20,
                },
                timeout=timeout_sec,
            )
            for chunk in stream:
                text = chunk.get("stream") or chunk.get("status") or ""
                if text:
                    lines.append(text)
                    if sink:
                        sink.write(text)
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
                    if sink:
                        sink.write(f"ERROR: {error}\n")
                aux = chunk.get("aux")
                if isinstance(aux, dict) and "ID" in aux:
                    image_id = str(aux["ID"])
                if time.monotonic() > deadline:
                    error = f"build exceeded {timeout_sec} s"
                    break
        except requests.exceptions.RequestException as err:
            error = f"build did not finish within {timeout_sec} s ({_short(err)})"
        except docker.errors.APIError as err:
            error = _short(err)
        finally:
            if sink:
                sink.close()
        if error:
            tail = "".join(lines[-30:])
            raise DockerOperationError(f"docker build of {tag} failed: {error}\n{tail}".strip())
        return image_id or self.image_id(tag) or ""

    def remove_image(self, ref: str, *, force: bool = True) -> None:
        try:
            self.client.images.remove(ref, force=force, noprune=False)
        except docker.errors.ImageNotFound:
            pass
        except docker.errors.APIError as err:
            log.warning("could not remove image %s: %s", ref, _short(err))

    # ----------------------------------------------------------------- containers
    def _container_kwargs(
        self,
        stage: str,
        user: str | None,
        env: Mapping[str, str] | None,
        workdir: str | None,
        network: bool,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "labels": self.labels(stage),
            "nano_cpus": int(self.limits.cpus * 1e9),
            "mem_limit": f"{self.limits.memory_mb}m",
            "memswap_limit": f"{self.limits.memory_mb}m",
            "pids_limit": self.limits.pids,
            "environment": dict(env or {}),
            "detach": True,
            "init": True,
        }
        if user:
            kwargs["user"] = user
        if workdir:
            kwargs["working_dir"] = workdir
        if not network:
            kwargs["network_mode"] = "none"
        return kwargs

    def _track(self, container: Container) -> None:
        global _atexit_installed
        with _live_lock:
            refused = _refuse_new
            if not refused:
                _live_containers[str(container.id)] = self
            if not _atexit_installed:
                atexit.register(_cleanup_all_live)
                _atexit_installed = True
        if refused:
            self.remove_container(str(container.id))
            raise DockerOperationError("the run was interrupted: no new containers")

    def remove_container(self, container_id: str) -> None:
        with _live_lock:
            _live_containers.pop(container_id, None)
        try:
            self.client.api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except (docker.errors.APIError, requests.exceptions.RequestException) as err:
            if not _removal_in_progress(err):  # an interrupt's clean-up got there first
                log.warning("could not remove container %s: %s", container_id[:12], _short(err))

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
        """Run argv in a fresh container; return its result and the files at `collect` paths.

        `inputs` are (local path, container directory) pairs copied in before the start.

        The container is always removed; a run past `timeout_sec` is killed and marked timed out.
        """
        kwargs = self._container_kwargs(stage, user, env, workdir, network)
        if volumes:
            kwargs["volumes"] = {k: dict(v) for k, v in volumes.items()}
        start = time.monotonic()
        try:
            container = self.client.containers.create(
                image, command=with_timeout(argv, timeout_sec), **kwargs
            )
        except docker.errors.APIError as err:
            raise DockerOperationError(
                f"cannot create container from {image}: {_short(err)}"
            ) from err
        self._track(container)
        try:
            for local, dest in inputs:
                self._copy_in(container, local, dest)
            container.start()
            timed_out = False
            try:
                status = container.wait(timeout=timeout_sec + _KILL_GRACE_SEC + _CLIENT_SLACK_SEC)
                exit_code = int(status.get("StatusCode", -1))
            except requests.exceptions.RequestException:
                timed_out = True
                exit_code = -1
                container.kill()
            elapsed = time.monotonic() - start
            timed_out = (
                timed_out or exit_code == 124 or (exit_code == 137 and elapsed >= timeout_sec)
            )
            output = container.logs(stdout=True, stderr=True).decode(errors="replace")
            files = {path: self._read_path(container, path) for path in collect}
            duration = time.monotonic() - start
            return ExecResult(exit_code, _tail(output), duration, timed_out), files
        except docker.errors.APIError as err:
            raise DockerOperationError(f"container run on {image} failed: {_short(err)}") from err
        finally:
            self.remove_container(str(container.id))

    @contextmanager
    def container(
        self,
        image: str,
        *,
        stage: str,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        network: bool = True,
    ) -> Iterator[ContainerHandle]:
        """A long-lived container (PID 1 sleeps) for several `exec` calls; removed on exit."""
        kwargs = self._container_kwargs(stage, user, env, workdir, network)
        try:
            container = self.client.containers.create(
                image, command=["sleep", "infinity"], **kwargs
            )
        except docker.errors.APIError as err:
            raise DockerOperationError(
                f"cannot create container from {image}: {_short(err)}"
            ) from err
        self._track(container)
        handle = ContainerHandle(str(container.id), image)
        self._open[handle.id] = container
        try:
            container.start()
            yield handle
        finally:
            self._open.pop(handle.id, None)
            self.remove_container(handle.id)

    def sdk_container(self, handle: ContainerHandle) -> Container:
        """The docker SDK object behind a handle of this runtime's open containers."""
        container = self._open.get(handle.id)
        if container is None:
            raise DockerOperationError(f"container {handle.id[:12]} is not open in this run")
        return container

    def exec(
        self,
        handle: ContainerHandle,
        argv: Sequence[str],
        *,
        timeout_sec: int,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        bound_inside: bool = True,
    ) -> ExecResult:
        """Run argv in a running container, bounded inside (`timeout -k`) and on the client.
        `bound_inside=False` runs argv as is (nothing of the container's runs before it), for
        a verifier that trusts no binary of the container; the client bound still holds."""
        container = self.sdk_container(handle)
        start = time.monotonic()
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["result"] = container.exec_run(
                    with_timeout(argv, timeout_sec) if bound_inside else list(argv),
                    user=user or "",
                    environment=dict(env or {}),
                    workdir=workdir,
                    demux=False,
                )
            except Exception as err:  # re-raised in the caller's thread
                box["error"] = err

        worker = threading.Thread(target=target, daemon=True)
        worker.start()
        worker.join(timeout_sec + _KILL_GRACE_SEC + _CLIENT_SLACK_SEC)
        duration = time.monotonic() - start
        if worker.is_alive():
            container.kill()
            raise CommandTimeoutError(
                f"command {' '.join(argv)[:80]!r} did not return within {timeout_sec} s; "
                "its container was killed"
            )
        if "error" in box:
            err = box["error"]
            raise DockerOperationError(f"exec in container failed: {_short(err)}") from err
        exit_code, output = box["result"]
        text = (output or b"").decode(errors="replace")
        return ExecResult(int(exit_code), _tail(text), duration, timed_out=exit_code == 124)

    def read_path(self, handle: ContainerHandle, path: str) -> bytes:
        """Tar bytes of `path` (file, link or directory) in the container (b'' if missing)."""
        return self._read_path(self.sdk_container(handle), path)

    def _read_path(self, container: Container, path: str) -> bytes:
        """Tar bytes of `path` in the container (b'' if it does not exist)."""
        try:
            stream, _ = container.get_archive(path)
        except docker.errors.NotFound:
            return b""
        return b"".join(stream)

    def copy_out(self, handle: ContainerHandle, path: str, dest_dir: Path) -> list[Path]:
        """Copy a file or directory out of a container into dest_dir."""
        data = self.read_path(handle, path)
        if not data:
            return []
        dest_dir.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest_dir, filter="data")
            return [dest_dir / m.name for m in tar.getmembers()]

    def read_file(self, handle: ContainerHandle, path: str) -> bytes | None:
        return read_file_from_tar(self.read_path(handle, path))

    def extract(self, handle: ContainerHandle, dest_dir: str, tar_bytes: bytes) -> None:
        """Extract a tar archive into dest_dir inside the container."""
        if not self.sdk_container(handle).put_archive(dest_dir, tar_bytes):
            raise DockerOperationError(f"could not extract an archive into container:{dest_dir}")

    def put_files(
        self, handle: ContainerHandle, dest_dir: str, files: Mapping[str, str | bytes]
    ) -> None:
        """Create dest_dir (mode 700, root) in the container holding `files` (name -> data)."""
        buf = io.BytesIO()
        parent, name = dest_dir.rstrip("/").rsplit("/", 1)
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o700
            tar.addfile(info)
            for member, data in files.items():
                body = data.encode() if isinstance(data, str) else data
                info = tarfile.TarInfo(f"{name}/{member}")
                info.size, info.mode = len(body), 0o755
                tar.addfile(info, io.BytesIO(body))
        if not self.sdk_container(handle).put_archive(parent or "/", buf.getvalue()):
            raise DockerOperationError(f"could not copy files into container:{dest_dir}")

    def copy_in(self, handle: ContainerHandle, src: Path, dest_dir: str) -> None:
        """Copy a local file or directory into dest_dir inside the container."""
        self._copy_in(self.sdk_container(handle), src, dest_dir)

    def _copy_in(self, container: Container, src: Path, dest_dir: str) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.add(str(src), arcname=src.name)
        if not container.put_archive(dest_dir, buf.getvalue()):
            raise DockerOperationError(f"could not copy {src} into container:{dest_dir}")

    def commit(self, handle: ContainerHandle, repository: str, tag: str, kind: str) -> str:
        """Snapshot a container (it keeps the container's labels, so only for our own use)."""
        image = self.sdk_container(handle).commit(
            repository=repository, tag=tag, conf={"Labels": self.image_labels_for(kind)}
        )
        return str(image.id)

    def diff(self, handle: ContainerHandle, helper_image: str | None = None) -> list[DiffEntry]:
        """What changed in the container relative to its image.

        `docker diff` compares metadata, so a file rewritten in place with its size and mtime
        kept looks unchanged to it. With overlay2 we also list the container's upper layer (in a
        helper container that mounts it read-only), which holds every file written to at all.
        """
        container = self.sdk_container(handle)
        kinds = {0: "C", 1: "A", 2: "D"}
        entries = {str(d["Path"]): kinds.get(int(d["Kind"]), "?") for d in container.diff() or []}
        container.reload()
        driver = container.attrs.get("GraphDriver", {})
        upper = (driver.get("Data") or {}).get("UpperDir")
        if driver.get("Name") == "overlay2" and upper and helper_image:
            listing, _ = self.run(
                helper_image,
                ["find", "/upper", "-mindepth", "1", "-printf", "%y|%P\\n"],
                stage="diff",
                timeout_sec=120,
                user="root",
                network=False,
                volumes={upper: {"bind": "/upper", "mode": "ro"}},
            )
            for line in listing.output.splitlines():
                kind, _, rel = line.partition("|")
                if not rel:
                    continue
                path = "/" + rel
                if kind == "c":  # an overlay whiteout: deleted
                    entries[path] = "D"
                else:
                    entries.setdefault(path, "C")
        return [DiffEntry(kind, path) for path, kind in sorted(entries.items())]

    def image_exists(self, ref: str) -> bool:
        try:
            self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return False
        return True

    def load_image(self, path: Path) -> None:
        """`docker load -i path` (plain or gzip tar), streamed from disk."""
        try:
            with path.open("rb") as data:
                self.client.api.load_image(data)  # type: ignore[no-untyped-call]
        except (docker.errors.APIError, OSError) as err:
            raise DockerOperationError(f"docker load {path} failed: {_short(err)}") from err

    def save_image(
        self, ref: str | Sequence[str], dest: Path | None, *, compresslevel: int = 1
    ) -> int:
        """`docker save` of one image or several, gzip-compressed into dest (`docker load -i`
        reads it). Several images share one archive, where each layer is stored once.

        Written to a temporary name and renamed, so an interrupted save leaves no half file.
        With dest None the stream is only counted. Returns the bytes written (or counted).
        """
        refs = [ref] if isinstance(ref, str) else list(ref)
        missing = [one for one in refs if not self.image_exists(one)]
        if missing:
            raise DockerOperationError(f"image {missing[0]} not found: rebuild it first")
        try:
            # GET /images/get?names=a&names=b: the multi-image `docker save`, which docker-py
            # only offers for one image
            api = self.client.api
            url = api._url("/images/get")  # type: ignore[attr-defined]
            res = api.get(url, params={"names": refs}, stream=True)
            res.raise_for_status()
            chunks = res.iter_content(chunk_size=2 << 20)
        except (docker.errors.APIError, requests.exceptions.RequestException) as err:
            names = " ".join(refs)
            raise DockerOperationError(f"docker save {names} failed: {_short(err)}") from err
        if dest is None:
            return sum(len(chunk) for chunk in chunks)
        tmp = dest.with_name(dest.name + ".part")
        try:
            with tmp.open("wb") as raw, gzip.GzipFile(
                fileobj=raw, mode="wb", compresslevel=compresslevel, mtime=0
            ) as out:
                for chunk in chunks:
                    out.write(chunk)
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest.stat().st_size

    def remove_compose_projects(self, prefixes: Sequence[str]) -> list[str]:
        """Remove containers and networks of compose projects whose name starts with a prefix
        (harness trials cligym started); used in `finally` after a harness run."""
        wanted = tuple(p.lower() for p in prefixes if p)
        if not wanted:
            return []
        removed = []
        key = "com.docker.compose.project"
        for container in self.client.containers.list(all=True, filters={"label": key}):
            project = (container.labels or {}).get(key, "")
            if project.startswith(wanted):
                self.remove_container(str(container.id))
                removed.append(project)
        for image in self.client.images.list(filters={"label": key}):
            if (image.labels or {}).get(key, "").startswith(wanted):
                self.remove_image(str(image.id))
        for network in self.client.networks.list(filters={"label": key}):
            if (network.attrs.get("Labels") or {}).get(key, "").startswith(wanted):
                try:
                    network.remove()
                except docker.errors.APIError as err:
                    log.warning("could not remove network %s: %s", network.name, _short(err))
        return sorted(set(removed))

    # ----------------------------------------------------------------- cleanup
    def labelled_containers(self) -> list[Container]:
        return list(self.client.containers.list(all=True, filters={"label": LABEL}))

    def gc(
        self, *, keep_images: set[str], remove_images: bool, include_live: bool = False
    ) -> GcReport:
        """Remove labelled containers of dead runs, and (optionally) labelled gold and task
        images that are not in `keep_images`. Objects without our label are never touched."""
        removed: list[str] = []
        kept: list[str] = []
        for container in self.labelled_containers():
            owner = (container.labels or {}).get(LABEL_RUN, "")
            if not include_live and owner != self.run_id and run_is_alive(owner):
                kept.append(str(container.short_id))
                continue
            self.remove_container(str(container.id))
            removed.append(str(container.short_id))
        images: list[str] = []
        if remove_images:
            images_of_kind = [
                image
                for kind in ("gold", "task")
                for image in self.client.images.list(filters={"label": f"{LABEL_IMAGE}={kind}"})
            ]
            for image in images_of_kind:
                if image.id in keep_images or any(t in keep_images for t in image.tags):
                    continue
                self.remove_image(str(image.id))
                images.append(image.tags[0] if image.tags else str(image.short_id))
        return GcReport(tuple(removed), tuple(images), tuple(kept))


def run_is_alive(run_id: str) -> bool:
    """Whether the process that owns `run_id` still runs on this machine."""
    pid = run_id_pid(run_id)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _removal_in_progress(err: BaseException) -> bool:
    """The daemon is removing that container already (409): what the caller wanted."""
    return (
        isinstance(err, docker.errors.APIError)
        and err.status_code == 409
        and "already in progress" in str(err)
    )


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__


_CONFORMS: type[Runtime] = DockerRuntime  # mypy checks the adapter against the protocol
