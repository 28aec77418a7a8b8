"""Resolve a SOURCE argument into a local snapshot of the repository and its content hash.

SOURCE is a local directory, a git repository (path or URL, optional `@ref`), or
`pypi:NAME[==VERSION]` (the sdist, which usually ships the tests).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cligym.errors import NotAPythonProjectError, NoTestsError, SourceError
from cligym.gold import pypi
from cligym.records import RepoSource, SourceKind

# Never copied into the image: VCS metadata, caches, local environments, build outputs.
EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".env",
        "env",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        "node_modules",
        "build",
        "dist",
        ".eggs",
        "htmlcov",
    }
)
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")
_GIT_URL = re.compile(r"^(https?://|git@|ssh://|git://|file://)")


@dataclass(frozen=True)
class SourceSnapshot:
    """A repository copied into `root` (no VCS metadata) and where it came from."""

    root: Path
    source: RepoSource


def parse_source(spec: str) -> tuple[SourceKind, str, str | None]:
    """Pure: classify a SOURCE argument into (kind, location, ref)."""
    if spec.startswith("pypi:"):
        name, _, version = spec[5:].partition("==")
        if not name.strip():
            raise SourceError(f"{spec!r}: expected pypi:NAME or pypi:NAME==VERSION")
        return SourceKind.PYPI, name.strip(), version.strip() or None
    location, ref = spec, None
    if spec.startswith("git+"):
        location = spec[4:]
    prefix = "git@" if location.startswith("git@") else ""
    head, sep, tail = location[len(prefix) :].rpartition("@")
    if sep and head and tail and "/" not in tail:
        location, ref = prefix + head, tail
    if spec.startswith("git+") or _GIT_URL.match(location) or location.endswith(".git"):
        return SourceKind.GIT, location, ref
    if ref is not None:
        return SourceKind.GIT, location, ref
    return SourceKind.LOCAL, location, None


def resolve_source(
    spec: str, cache_dir: Path, dest: Path, python: str | None = None
) -> SourceSnapshot:
    """Materialise SOURCE as a clean tree at `dest`; raises SourceError with a fix on failure."""
    kind, location, ref = parse_source(spec)
    if kind is SourceKind.PYPI:
        release = pypi.fetch_sdist(location, ref, cache_dir / "pypi", python=python)
        tree = release.unpacked
        name, resolved, where = release.name, release.version, release.url
    elif kind is SourceKind.GIT:
        tree, resolved = _git_checkout(location, ref, cache_dir / "git")
        name = Path(location.rstrip("/")).name.removesuffix(".git") or "repo"
        where = location
    else:
        path = Path(location).expanduser()
        if not path.exists():
            raise SourceError(f"{spec}: no such directory")
        if not path.is_dir():
            raise SourceError(
                f"{spec}: not a directory (give a project directory, a git URL or pypi:NAME)"
            )
        tree, resolved, name, where = path.resolve(), None, path.resolve().name, str(path.resolve())
    check_python_project(tree, spec)
    digest = copy_tree(tree, dest)
    source = RepoSource(
        kind=kind,
        spec=spec,
        name=name,
        location=where,
        ref=ref,
        resolved=resolved,
        content_sha256=digest,
    )
    return SourceSnapshot(dest, source)


def iter_files(root: Path) -> list[Path]:
    """Files of the tree that belong in the image, sorted, relative to root."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in EXCLUDED_DIRS and not d.endswith(EXCLUDED_SUFFIXES)
        )
        for name in sorted(filenames):
            if name.endswith(EXCLUDED_SUFFIXES):
                continue
            path = Path(dirpath, name)
            if path.is_symlink() or path.is_file():
                found.append(path.relative_to(root))
    return found


def check_python_project(root: Path, spec: str) -> None:
    files = iter_files(root)
    top = {p.name for p in files if len(p.parts) == 1}
    if not (top & set(PROJECT_MARKERS)) and not any(n.startswith("requirements") for n in top):
        raise NotAPythonProjectError(
            f"{spec} is not a Python project: no pyproject.toml, setup.py, setup.cfg or "
            "requirements*.txt at its root"
        )
    if not any(_is_test_file(p) for p in files):
        raise NoTestsError(
            f"{spec} has no tests: no test_*.py or *_test.py files (cligym needs a pytest suite)"
        )


def _is_test_file(path: Path) -> bool:
    return path.suffix == ".py" and (path.name.startswith("test_") or path.stem.endswith("_test"))


def copy_tree(src: Path, dest: Path) -> str:
    """Copy the tree (without excluded parts) and return the sha256 of paths, modes and bytes."""
    digest = hashlib.sha256()
    dest.mkdir(parents=True, exist_ok=True)
    for rel in iter_files(src):
        source, target = src / rel, dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            link = os.readlink(source)
            os.symlink(link, target)
            digest.update(f"L {rel} {link}\n".encode())
            continue
        shutil.copy2(source, target)
        executable = os.access(source, os.X_OK)
        digest.update(f"F {rel} {int(executable)} {source.stat().st_size}\n".encode())
        with source.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _git(argv: list[str], cwd: Path | None = None, timeout: int = 600) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.run(
            ["git", *argv],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except FileNotFoundError as err:
        raise SourceError("git is not installed; install it with `apt-get install -y git`") from err
    except subprocess.TimeoutExpired as err:
        raise SourceError(f"git {argv[0]} timed out after {timeout} s") from err
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise SourceError(f"git {argv[0]} failed: {lines[-1] if lines else proc.returncode}")
    return proc.stdout.strip()


def _git_checkout(location: str, ref: str | None, cache_dir: Path) -> tuple[Path, str]:
    """Clone (cached by URL) and check out `ref`; returns the work tree and commit."""
    if not _GIT_URL.match(location):
        path = Path(location).expanduser()
        if not path.exists():
            raise SourceError(f"{location}: no such git repository")
        location = str(path.resolve())
    key = hashlib.sha256(location.encode()).hexdigest()[:16]
    repo = cache_dir / key
    cache_dir.mkdir(parents=True, exist_ok=True)
    if not (repo / ".git").is_dir():
        partial = cache_dir / f"{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        _git(["clone", "--quiet", location, str(partial)])
        partial.rename(repo)
    else:
        _git(["fetch", "--quiet", "--tags", "origin"], cwd=repo)
    target = ref or "origin/HEAD"
    try:
        commit = _git(["rev-parse", "--verify", f"{target}^{{commit}}"], cwd=repo)
    except SourceError:
        try:
            commit = _git(["rev-parse", "--verify", f"origin/{target}^{{commit}}"], cwd=repo)
        except SourceError as err:
            raise SourceError(f"{location}: unknown ref {ref!r} (branch, tag or commit)") from err
    _git(["checkout", "--quiet", "--force", "--detach", commit], cwd=repo)
    _git(["clean", "-fdxq"], cwd=repo)
    return repo, commit
