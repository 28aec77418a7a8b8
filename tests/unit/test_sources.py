import subprocess
from pathlib import Path

import pytest

from cligym.errors import NotAPythonProjectError, NoTestsError, SourceError
from cligym.gold.sources import check_python_project, copy_tree, parse_source, resolve_source
from cligym.records import SourceKind


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("pypi:attrs", (SourceKind.PYPI, "attrs", None)),
        ("pypi:attrs==23.1.0", (SourceKind.PYPI, "attrs", "23.1.0")),
        ("./repo", (SourceKind.LOCAL, "./repo", None)),
        ("/abs/repo", (SourceKind.LOCAL, "/abs/repo", None)),
        ("/abs/repo@v1.0", (SourceKind.GIT, "/abs/repo", "v1.0")),
        ("https://github.com/org/proj", (SourceKind.GIT, "https://github.com/org/proj", None)),
        (
            "https://github.com/org/proj.git@abc123",
            (SourceKind.GIT, "https://github.com/org/proj.git", "abc123"),
        ),
        ("git@github.com:org/proj.git", (SourceKind.GIT, "git@github.com:org/proj.git", None)),
        (
            "git@github.com:org/proj.git@main",
            (SourceKind.GIT, "git@github.com:org/proj.git", "main"),
        ),
        ("git+https://host/x/y@v2", (SourceKind.GIT, "https://host/x/y", "v2")),
        ("https://user@host/x/y", (SourceKind.GIT, "https://user@host/x/y", None)),
    ],
)
def test_parse_source(spec, expected):
    assert parse_source(spec) == expected


def test_parse_source_rejects_empty_pypi_name():
    with pytest.raises(SourceError):
        parse_source("pypi:")


def test_copy_tree_excludes_caches_and_hash_is_stable(tmp_path: Path):
    src = tmp_path / "src"
    (src / "pkg" / "__pycache__").mkdir(parents=True)
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref")
    (src / "pkg" / "__init__.py").write_text("x = 1\n")
    (src / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0")
    (src / "x.egg-info").mkdir()
    h1 = copy_tree(src, tmp_path / "a")
    h2 = copy_tree(src, tmp_path / "b")
    assert h1 == h2
    assert (tmp_path / "a" / "pkg" / "__init__.py").exists()
    assert not (tmp_path / "a" / ".git").exists()
    assert not (tmp_path / "a" / "pkg" / "__pycache__").exists()
    (src / "pkg" / "__init__.py").write_text("x = 2\n")
    assert copy_tree(src, tmp_path / "c") != h1


def test_project_checks(fixture_repos: Path):
    with pytest.raises(NotAPythonProjectError, match="not a Python project"):
        check_python_project(fixture_repos / "notpython", "notpython")
    with pytest.raises(NoTestsError, match="has no tests"):
        check_python_project(fixture_repos / "notests", "notests")
    check_python_project(fixture_repos / "flaky", "flaky")


def test_resolve_local_missing_dir(tmp_path: Path):
    with pytest.raises(SourceError, match="no such directory"):
        resolve_source(str(tmp_path / "nope"), tmp_path / "cache", tmp_path / "dest")


def test_resolve_git_repo_at_ref(tmp_path: Path, fixture_repos: Path):
    repo = tmp_path / "repo"
    copy_tree(fixture_repos / "allfail", repo)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "one"], check=True)
    subprocess.run([*git, "-C", str(repo), "tag", "v1"], check=True)
    (repo / "allfail.py").write_text("def answer():\n    return 42\n")
    subprocess.run([*git, "-C", str(repo), "commit", "-qam", "two"], check=True)
    snap = resolve_source(f"{repo}@v1", tmp_path / "cache", tmp_path / "dest")
    assert snap.source.kind is SourceKind.GIT
    assert "41" in (tmp_path / "dest" / "allfail.py").read_text()
    assert not (tmp_path / "dest" / ".git").exists()
    with pytest.raises(SourceError, match="unknown ref"):
        resolve_source(f"{repo}@nope", tmp_path / "cache", tmp_path / "dest2")
