"""The repository's test files, taken from the gold image once per gold env.

Exported verifiers put back any test file an agent edited or deleted before grading, so changing
the tests cannot pass a task. Only content is compared: a fault that changed a test file's mode
or a data file's permissions stays the agent's to repair, and files a task's fault touched are
left out of that task's manifest altogether (they are part of the environment to repair).
"""

from __future__ import annotations

import hashlib
import io
import shlex
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cligym.errors import CligymError
from cligym.gold.dockerfile import APP_DIR
from cligym.records import GoldEnv
from cligym.runtime.docker import DockerRuntime, read_file_from_tar

ARCHIVE = "app-tests.tar.gz"
MANIFEST = "app-tests.sha256"
KEEP = "app-tests.keep"
_PRUNE = (".git", "__pycache__", "*.egg-info", ".tox", ".nox", "node_modules", ".venv", "build")
_NAMES = ("test_*.py", "*_test.py", "conftest.py", "pytest.ini", "tox.ini", "setup.cfg",
          "pyproject.toml")
_DIRS = ("tests", "test", "testing")


@dataclass(frozen=True)
class TestFiles:
    """A gzip tar of the test files (members `./rel/path`) and their sha256 digests."""

    __test__ = False  # not a pytest test class

    archive: bytes
    digests: tuple[tuple[str, str], ...]  # (member name, sha256)

    def manifest(self, touched: Iterable[tuple[str, str]] = ()) -> str:
        """`sha256sum -c` input, without the files a fault deleted (`docker diff` entries
        (kind, path); a deleted directory takes everything under it along). Faults never change
        a test file's content, only its metadata, and the verifier restores content only."""
        deleted = [p.rstrip("/") for k, p in touched if k == "D"]
        lines = [
            f"{digest}  {name}"
            for name, digest in self.digests
            if not _under(f"{APP_DIR}/{name[2:]}", deleted)
        ]
        return "\n".join(lines) + ("\n" if lines else "")

    def keep_list(self, touched: Iterable[tuple[str, str]] = ()) -> str:
        """Test-like files that may exist under /app: gold's, plus what a fault added there.
        The verifier deletes any other conftest.py, test module or pytest config it finds."""
        names = {name for name, _ in self.digests}
        prefix = APP_DIR + "/"
        names |= {"./" + p[len(prefix):] for _, p in touched if p.startswith(prefix)}
        return "\n".join(sorted(names)) + ("\n" if names else "")


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r + "/") for r in roots)


TEST_LIKE_FIND = (
    "find . \\( " + " -o ".join(f"-name {shlex.quote(p)}" for p in _PRUNE) + " \\) -prune -o "
    "-type f \\( " + " -o ".join(f"-name {shlex.quote(n)}" for n in _NAMES) + " \\) -print"
)
"""Lists test modules, conftest files and pytest configs under the current directory."""


def plan_find_command(test_ids: Sequence[str]) -> str:
    """Pure: the `find` that lists test files under /app (names, test dirs, node-id dirs)."""
    dirs = sorted({t.split("::", 1)[0].rsplit("/", 1)[0] for t in test_ids if "/" in t})
    prune = " -o ".join(f"-name {shlex.quote(p)}" for p in _PRUNE)
    match = [f"-name {shlex.quote(n)}" for n in _NAMES]
    match += [f"-path {shlex.quote(f'*/{d}/*')}" for d in _DIRS]
    match += [f"-path {shlex.quote(f'./{d}/*')}" for d in dirs]
    return (
        f"cd {APP_DIR} && find . \\( {prune} \\) -prune -o -type f "
        f"\\( {' -o '.join(match)} \\) -print | LC_ALL=C sort"
    )


def collect_test_files(runtime: DockerRuntime, gold: GoldEnv, cache_dir: Path) -> TestFiles:
    """The gold image's test files (cached in the gold env's artifact dir)."""
    cached = cache_dir / ARCHIVE
    if not cached.exists():
        find = plan_find_command(gold.stability.stable_passing)
        script = (
            f"{find} > /tmp/cligym-testfiles.txt && cd {APP_DIR} && "
            "tar --numeric-owner -czf /tmp/cligym-testfiles.tar.gz -T /tmp/cligym-testfiles.txt"
        )
        with runtime.container(gold.image_tag, stage="package", user="root") as box:
            result = runtime.exec(box, ["bash", "-c", script], timeout_sec=300)
            if not result.ok:
                raise CligymError(
                    f"could not collect the test files of {gold.name}: {result.output[-200:]}"
                )
            data = read_file_from_tar(runtime.read_path(box, "/tmp/cligym-testfiles.tar.gz"))
        if not data:
            raise CligymError(f"no test files found in {gold.image_tag}")
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(ARCHIVE + ".part")
        tmp.write_bytes(data)
        tmp.replace(cached)
    return load_test_files(cached.read_bytes())


def load_test_files(archive: bytes) -> TestFiles:
    """Pure: digests of every regular file in a test-files archive."""
    digests = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                handle = tar.extractfile(member)
                body = handle.read() if handle else b""
                name = member.name if member.name.startswith("./") else "./" + member.name
                digests.append((name, hashlib.sha256(body).hexdigest()))
    return TestFiles(archive, tuple(sorted(digests)))
