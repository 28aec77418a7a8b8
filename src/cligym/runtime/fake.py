"""An in-memory `Runtime` for unit tests: it records every call and answers from a script.

No Docker, no subprocess. A test lists rules (`on(op, reply, ...)`), checked in order, first
match wins; a call no rule matches gets a neutral answer (exit 0 and no output, no files, an
empty diff, a new image id for a build). Afterwards `calls` holds what the code under test
asked for, in order, so a test can pin the exact commands, images, users and files.

    fake = FakeRuntime()
    fake.add_image("gold:1")
    fake.on("run", Reply(output="ok", files={"/results/junit.xml": xml}), contains="pytest")
    ...
    assert [c.script for c in fake.calls_of("run")] == [...]
"""

from __future__ import annotations

import hashlib
import io
import os
import shlex
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cligym.errors import DockerOperationError
from cligym.runtime.archive import render_tar
from cligym.runtime.protocol import (
    ContainerHandle,
    DiffEntry,
    ExecResult,
    PushResult,
    Runtime,
)

_SHELLS = ("bash", "sh")


@dataclass(frozen=True)
class Call:
    """One call the fake received. `op` is the Runtime method's name; `image` the image of a
    run/container, the tag of a build, the ref of an image query; `path` the container path a
    read/extract/put_files is about; `files` what was put into the container or build context."""

    op: str
    image: str = ""
    argv: tuple[str, ...] = ()
    stage: str = ""
    user: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    network: bool | None = None
    timeout_sec: int | None = None
    container: str = ""
    path: str = ""
    files: Mapping[str, bytes] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    collect: tuple[str, ...] = ()
    volumes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    bound_inside: bool = True

    @property
    def script(self) -> str:
        """The shell text of `bash -c TEXT` / `sh -c TEXT` (also behind `timeout`), else argv
        joined as a shell would read it."""
        argv = list(self.argv)
        for i in range(len(argv) - 2):
            if argv[i] in _SHELLS and argv[i + 1] in ("-c", "-lc"):
                return argv[i + 2]
        return shlex.join(argv)

    @property
    def text(self) -> str:
        """What `on(..., contains=)` searches: the script, else the path, else the image."""
        return self.script if self.argv else self.path or self.image


@dataclass(frozen=True)
class Reply:
    """The answer to a call. `files` are container paths -> content, returned as tar streams
    by `read_path` and `run(collect=...)` for the paths at or under what was asked; `error`
    is raised instead of answering (a build that fails, an exec that never returns)."""

    exit_code: int = 0
    output: str = ""
    files: Mapping[str, bytes | str] = field(default_factory=dict)
    timed_out: bool = False
    duration_sec: float = 0.01
    diff: tuple[DiffEntry, ...] = ()
    image_id: str | None = None
    error: BaseException | None = None


Answer = Reply | Callable[[Call], Reply]


@dataclass
class _Rule:
    op: str
    answer: Answer
    image: str | None
    contains: str | None
    when: Callable[[Call], bool] | None
    times: int | None

    def matches(self, call: Call) -> bool:
        return (
            self.op == call.op
            and (self.image is None or self.image == call.image)
            and (self.contains is None or self.contains in call.text)
            and (self.when is None or self.when(call))
        )


@dataclass
class FakeImage:
    id: str
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    size_bytes: int = 1000
    created: str = "2024-01-01T00:00:00Z"


class FakeRuntime:
    """A scripted stand-in for `DockerRuntime` (see the module docstring)."""

    def __init__(self, run_id: str = "fake-run") -> None:
        self._run_id = run_id
        self.calls: list[Call] = []
        self.images: dict[str, FakeImage] = {}
        self.pullable: set[str] = set()
        self.pushed: dict[str, str] = {}
        self._rules: list[_Rule] = []
        self._containers = 0

    @property
    def run_id(self) -> str:
        return self._run_id

    # ------------------------------------------------------------- the script
    def on(
        self,
        op: str,
        answer: Answer,
        *,
        image: str | None = None,
        contains: str | None = None,
        when: Callable[[Call], bool] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer calls of `op` (a Runtime method name) that match; `times` uses it up."""
        self._rules.append(_Rule(op, answer, image, contains, when, times))

    def add_image(
        self,
        ref: str,
        *,
        labels: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        size_bytes: int = 1000,
        created: str = "2024-01-01T00:00:00Z",
    ) -> FakeImage:
        """An image the fake engine holds (built, pulled or given by the test)."""
        digest = hashlib.sha256(ref.encode()).hexdigest()[:16]
        image = FakeImage(
            f"sha256:{digest}", dict(labels or {}), dict(env or {}), size_bytes, created
        )
        self.images[ref] = image
        return image

    def calls_of(self, *ops: str) -> list[Call]:
        return [c for c in self.calls if c.op in ops]

    def _answer(self, call: Call, raising: bool = True) -> Reply:
        """The first matching rule's reply; its `error` is raised unless `raising` is off
        (a build writes its log first, as Docker's does)."""
        self.calls.append(call)
        for rule in self._rules:
            if rule.matches(call):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                reply = rule.answer(call) if callable(rule.answer) else rule.answer
                if reply.error is not None and raising:
                    raise reply.error
                return reply
        return Reply()

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
        put = {
            f"{dest.rstrip('/')}/{rel}": data
            for local, dest in inputs
            for rel, data in _read_local(local).items()
        }
        call = Call(
            "run",
            image,
            tuple(argv),
            stage=stage,
            user=user,
            env=dict(env or {}),
            workdir=workdir,
            network=network,
            timeout_sec=timeout_sec,
            files=put,
            collect=tuple(collect),
            volumes={k: dict(v) for k, v in (volumes or {}).items()},
        )
        reply = self._answer(call)
        return _result(reply), {path: _archive(reply.files, path) for path in collect}

    # ------------------------------------------------------------- long-lived containers
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
        self._containers += 1
        handle = ContainerHandle(f"fake-container-{self._containers}", image)
        self._answer(
            Call(
                "container",
                image,
                stage=stage,
                user=user,
                env=dict(env or {}),
                workdir=workdir,
                network=network,
                container=handle.id,
            )
        )
        try:
            yield handle
        finally:
            self.calls.append(Call("remove_container", image, container=handle.id))

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
    ) -> ExecResult:
        call = Call(
            "exec",
            container.image,
            tuple(argv),
            user=user,
            env=dict(env or {}),
            workdir=workdir,
            timeout_sec=timeout_sec,
            container=container.id,
            bound_inside=bound_inside,
        )
        return _result(self._answer(call))

    def read_path(self, container: ContainerHandle, path: str) -> bytes:
        reply = self._answer(Call("read_path", container.image, container=container.id, path=path))
        return _archive(reply.files, path)

    def extract(self, container: ContainerHandle, dest_dir: str, tar_bytes: bytes) -> None:
        files = _untar(tar_bytes, dest_dir)
        self._answer(
            Call("extract", container.image, container=container.id, path=dest_dir, files=files)
        )

    def put_files(
        self, container: ContainerHandle, dest_dir: str, files: Mapping[str, str | bytes]
    ) -> None:
        put = {f"{dest_dir.rstrip('/')}/{k}": _bytes(v) for k, v in files.items()}
        self._answer(
            Call("put_files", container.image, container=container.id, path=dest_dir, files=put)
        )

    def diff(self, container: ContainerHandle, helper_image: str | None = None) -> list[DiffEntry]:
        reply = self._answer(
            Call("diff", container.image, container=container.id, path=helper_image or "")
        )
        return list(reply.diff)

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
        call = Call(
            "build",
            tag,
            stage=kind,
            env=dict(buildargs or {}),
            timeout_sec=timeout_sec,
            files={str(p.relative_to(context_dir)): data for p, data in _walk(context_dir)},
            labels=dict(labels or {}),
        )
        reply = self._answer(call, raising=False)
        if log_path is not None:
            log_path.write_text(reply.output)
        if reply.error is not None:
            raise reply.error
        image = self.add_image(tag, labels=labels)
        if reply.image_id:
            image.id = reply.image_id
        return image.id

    def pull(self, ref: str) -> bool:
        self._answer(Call("pull", ref))
        if ref in self.pullable:
            self.add_image(ref)
        return ref in self.images

    def push_image(self, image: str, remote_ref: str) -> PushResult:
        """Pushes are recorded in `pushed` (remote ref -> image id); the digest is a hash."""
        self._answer(Call("push_image", image, argv=(remote_ref,)))
        held = self.image_id(image)
        if held is None:
            raise DockerOperationError(f"docker push {remote_ref} failed: no such image {image}")
        self.pushed[remote_ref] = held
        digest = hashlib.sha256(f"{remote_ref} {held}".encode()).hexdigest()
        return PushResult(f"sha256:{digest}", layers_uploaded=1, layers_present=0)

    def import_rootfs(self, tar_path: Path, repository: str, tag: str) -> str:
        self._answer(Call("import_rootfs", f"{repository}:{tag}", path=str(tar_path)))
        return self.add_image(f"{repository}:{tag}").id

    def remove_image(self, ref: str, *, force: bool = True) -> None:
        self._answer(Call("remove_image", ref))
        self.images.pop(ref, None)

    def image_id(self, ref: str) -> str | None:
        image = self.images.get(ref) or next(
            (i for i in self.images.values() if i.id == ref), None
        )
        return image.id if image else None

    def image_exists(self, ref: str) -> bool:
        return ref in self.images

    def image_labels(self, ref: str) -> dict[str, str]:
        image = self.images.get(ref)
        return dict(image.labels) if image else {}

    def image_env(self, ref: str) -> dict[str, str]:
        return dict(self.images[ref].env)

    def image_size_bytes(self, ref: str) -> int:
        return self.images[ref].size_bytes

    def image_created(self, ref: str) -> str:
        return self.images[ref].created

    def load_image(self, path: Path) -> None:
        self._answer(Call("load_image", path=str(path)))

    def save_image(
        self, ref: str | Sequence[str], dest: Path | None, *, compresslevel: int = 1
    ) -> int:
        refs = [ref] if isinstance(ref, str) else list(ref)
        self._answer(Call("save_image", " ".join(refs), path=str(dest or "")))
        data = "".join(f"fake image {one}\n" for one in refs).encode()
        if dest is not None:
            dest.write_bytes(data)
        return len(data)

    def remove_compose_projects(self, prefixes: Sequence[str]) -> list[str]:
        self._answer(Call("remove_compose_projects", argv=tuple(prefixes)))
        return []


_CONFORMS: type[Runtime] = FakeRuntime  # mypy checks the fake against the protocol


def _result(reply: Reply) -> ExecResult:
    return ExecResult(reply.exit_code, reply.output, reply.duration_sec, reply.timed_out)


def _bytes(data: bytes | str) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _archive(files: Mapping[str, bytes | str], path: str) -> bytes:
    """What `get_archive(path)` returns for these files: the file at `path` or the tree under
    it, named relative to its parent directory (b'' if nothing is there)."""
    root = path.rstrip("/") or "/"
    parent = os.path.dirname(root)
    chosen = {
        os.path.relpath(name, parent): _bytes(data)
        for name, data in files.items()
        if name == root or name.startswith(root.rstrip("/") + "/")
    }
    return render_tar(chosen) if chosen else b""


def _untar(data: bytes, dest_dir: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                out[os.path.join(dest_dir, member.name)] = handle.read()
    return out


def _walk(path: Path) -> Iterator[tuple[Path, bytes]]:
    if path.is_file():
        yield path, path.read_bytes()
    for p in sorted(path.rglob("*")) if path.is_dir() else ():
        if p.is_file():
            yield p, p.read_bytes()


def _read_local(path: Path) -> dict[str, bytes]:
    """Files of a local file or directory, by path relative to its parent (as `tar` adds it)."""
    return {str(p.relative_to(path.parent)): data for p, data in _walk(path)}
