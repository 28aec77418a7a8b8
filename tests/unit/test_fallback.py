"""The second recipe after a failed install (gold/fallback.py), read off real build logs: system
packages for a C extension's headers, the release's wheel when the sdist's build backend
cannot be installed here, nothing for failures neither answers."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.errors import DockerOperationError, InstallError
from cligym.gold.build import GoldRequest, build_gold
from cligym.gold.dockerfile import render_pip_install
from cligym.gold.fallback import missing_system_packages, project_build_failed, retry_recipe
from cligym.records import RecipeSpec, RepoSource, SourceKind
from cligym.runtime.fake import Reply
from tests.unit.test_gold_build import ADDS, REPO, _engine, _run

# pip's output as a gold build log holds it (lxml 6.1.3 and platformdirs 4.14.9 on this index)
LXML_LOG = """\
Step 6/9 : RUN pip install --no-cache-dir --editable . pytest coverage pytest-timeout
Obtaining file:///app
  Installing build dependencies: started
  Installing build dependencies: finished with status 'done'
  Getting requirements to build editable: started
  Getting requirements to build editable: finished with status 'error'
\x1b[91m  error: subprocess-exited-with-error
  \u00d7 Getting requirements to build editable did not run successfully.
  \u2570\u2500> [3 lines of output]
      Building lxml version 6.1.3.
      Building without Cython.
      Error: Please make sure the libxml2 and libxslt development packages are installed.
      [end of output]
"""
BACKEND_LOG = """\
Obtaining file:///app
  Installing build dependencies: started
  Installing build dependencies: finished with status 'error'
\x1b[91m  error: subprocess-exited-with-error
  \u00d7 pip subprocess to install build dependencies did not run successfully.
  \u2570\u2500> [9 lines of output]
      Collecting hatchling>=1.29
        Downloading hatchling-1.33.0-py3-none-any.whl (78 kB)
      ERROR: Could not find a version that satisfies the requirement python-sbom[hatch]>=0.1.2
      ERROR: No matching distribution found for python-sbom[hatch]>=0.1.2
"""
# the project built; a test requirement's sdist did not
DEPENDENCY_LOG = """\
Obtaining file:///app
  Installing build dependencies: started
  Installing build dependencies: finished with status 'done'
  Preparing editable metadata (pyproject.toml): finished with status 'done'
Collecting somelib
  Downloading somelib-1.0.tar.gz (10 kB)
  Installing build dependencies: started
  Installing build dependencies: finished with status 'error'
"""
PYPI = RepoSource(
    kind=SourceKind.PYPI,
    spec="pypi:platformdirs==4.14.9",
    name="platformdirs",
    location="https://index/simple",
    ref="4.14.9",
    resolved="4.14.9",
    content_sha256="ab",
)


@pytest.mark.parametrize(
    ("log", "packages"),
    [
        (LXML_LOG, ("libxml2-dev", "libxslt1-dev")),
        ("src/_cffi.c:3:10: fatal error: ffi.h: No such file or directory", ("libffi-dev",)),
        ("x.c:1:10: fatal error: libxml/xmlversion.h: No such file or directory", ("libxml2-dev",)),
        ("Package yaml-0.1 was not found in the pkg-config search path.", ("libyaml-dev",)),
        ("No package 'libffi' found", ("libffi-dev",)),
        ("/bin/sh: 1: xslt-config: not found", ("libxslt1-dev",)),
        ("Error: pg_config executable not found.", ("libpq-dev",)),
        ("x.c:1:10: fatal error: nosuchlib.h: No such file or directory", ()),
        (BACKEND_LOG, ()),
    ],
)
def test_the_system_packages_a_build_log_asks_for(log, packages):
    assert missing_system_packages(log) == packages


def test_only_a_failure_while_preparing_the_project_itself_is_the_projects_build():
    assert project_build_failed(LXML_LOG) and project_build_failed(BACKEND_LOG)
    assert not project_build_failed(DEPENDENCY_LOG)
    assert not project_build_failed("ERROR: No matching distribution found for nosuchpkg")


def test_system_packages_first_then_the_releases_wheel_then_nothing():
    recipe = RecipeSpec(extras=("test",), requirements=("pytest",))
    first = retry_recipe(recipe, PYPI, LXML_LOG)
    assert first is not None
    assert first.recipe.apt_packages == ("libxml2-dev", "libxslt1-dev")
    assert first.reason in first.recipe.notes
    # the same log again (the packages did not help): the release's wheel
    second = retry_recipe(first.recipe, PYPI, LXML_LOG)
    assert second is not None and second.recipe.project_release == "platformdirs==4.14.9"
    assert shlex.split(render_pip_install(second.recipe))[3:6] == [
        "--only-binary",
        "platformdirs",
        "platformdirs[test]==4.14.9",
    ]
    assert "--editable" not in render_pip_install(second.recipe)
    assert retry_recipe(second.recipe, PYPI, LXML_LOG) is None


def test_no_wheel_for_a_repository_without_a_release_or_a_dependencys_failure():
    recipe = RecipeSpec()
    local = PYPI.model_copy(update={"kind": SourceKind.LOCAL, "resolved": None})
    assert retry_recipe(recipe, local, BACKEND_LOG) is None
    assert retry_recipe(recipe, PYPI, DEPENDENCY_LOG) is None
    assert retry_recipe(RecipeSpec(install_project=False), PYPI, BACKEND_LOG) is None


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("CLIGYM_UPSTREAM_IMAGE", raising=False)
    return Settings(workdir=tmp_path / "work")


def test_gold_builds_again_with_the_packages_its_log_names(settings, tmp_path):
    fake = _engine([_run(ADDS, python="3.12.3"), _run(ADDS)])
    failure = DockerOperationError("docker build failed: returned a non-zero code: 1")
    fake.on(
        "build", Reply(output=LXML_LOG, error=failure), times=1, when=lambda c: c.stage == "gold"
    )
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    gold = build_gold(
        GoldRequest(spec=str(REPO), runs=2, min_tests=3), settings, fake, catalog
    ).gold
    first, second = [c for c in fake.calls_of("build") if c.stage == "gold"]
    assert "apt-get" not in first.files["Dockerfile"].decode()
    assert "libxml2-dev libxslt1-dev" in second.files["Dockerfile"].decode()
    assert gold.recipe.apt_packages == ("libxml2-dev", "libxslt1-dev")
    assert first.image not in fake.images and catalog.list_gold() == [gold]


def test_a_failure_no_second_recipe_answers_is_the_first_error(settings, tmp_path):
    fake = _engine([])
    failure = DockerOperationError("docker build failed")
    fake.on("build", Reply(output=BACKEND_LOG, error=failure), when=lambda c: c.stage == "gold")
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    with pytest.raises(InstallError, match="satisfies the requirement python-sbom"):
        build_gold(GoldRequest(spec=str(REPO), runs=2), settings, fake, catalog)
    assert len([c for c in fake.calls_of("build") if c.stage == "gold"]) == 1  # local: no wheel
    assert catalog.list_gold() == []
