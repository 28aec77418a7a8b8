"""build_gold through FakeRuntime: base image, gold build, N test runs in fresh containers, and
the stability decisions made from their reports (flaky and failing tests are never stable)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.errors import CligymError, DockerOperationError, GoldTestsError, InstallError
from cligym.gold.build import GoldRequest, build_gold
from cligym.gold.recipe import PER_TEST_TIMEOUT_SEC
from cligym.runtime.base import UPSTREAM_IMAGE
from cligym.runtime.fake import Call, FakeRuntime, Reply
from cligym.testbed.command import render_user_command
from tests.unit.runtime_script import JUNIT, PYTEST, RESULTS, as_tester, junit

REPO = Path(__file__).parent.parent / "fixtures" / "repos" / "flaky"
T = "tests/test_flaky.py::"
ADDS = tuple(f"{T}test_add[{i}]" for i in range(5))
FLAKY = f"{T}test_first_tag_is_alpha"
BROKEN = f"{T}test_broken"
METADATA = (
    "python -c 'import platform; print(platform.python_version())' "
    "> /run/cligym-results/python.txt; "
    "pip freeze --all > /run/cligym-results/freeze.txt 2>/dev/null; "
)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("CLIGYM_UPSTREAM_IMAGE", raising=False)
    return Settings(workdir=tmp_path / "work", test_timeout_sec=321)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


def _engine(runs: list[Reply]) -> FakeRuntime:
    """Upstream image present; python 3.12.3 in the base; one reply per gold test run."""
    fake = FakeRuntime()
    fake.add_image(UPSTREAM_IMAGE)
    fake.on("run", Reply(output="3.12.3\n"), when=lambda c: c.argv[0] == "python3")
    for reply in runs:
        fake.on("run", reply, contains="python -m pytest", times=1)
    return fake


def _run(passed=(), failed=None, python: str | None = None) -> Reply:
    files: dict[str, bytes | str] = {JUNIT: junit(passed, failed)}
    if python:
        files[f"{RESULTS}/python.txt"] = python + "\n"
        files[f"{RESULTS}/freeze.txt"] = "flakyproj==0.1.0\npytest==8.3.3\n"
    return Reply(exit_code=1 if failed else 0, output="7 passed", files=files)


def test_flaky_and_failing_tests_are_never_stable(settings, catalog):
    fake = _engine(
        [
            _run([*ADDS, FLAKY], {BROKEN: "assert 0"}, python="3.12.3"),
            _run(ADDS, {FLAKY: "assert 'b' == 'a'", BROKEN: "assert 0"}),
        ]
    )
    result = build_gold(GoldRequest(spec=str(REPO), runs=2, min_tests=3), settings, fake, catalog)

    gold = result.gold
    assert not result.cached
    assert gold.stability.stable_passing == ADDS
    assert gold.stability.flaky == (FLAKY,) and gold.stability.failing == (BROKEN,)
    assert gold.python_version == "3.12.3"
    assert gold.pip_freeze == ("flakyproj==0.1.0", "pytest==8.3.3")
    assert catalog.get_gold(gold.id) == gold
    artifacts = settings.paths.gold_artifacts(gold.id)
    assert (artifacts / "junit-2.xml").read_text().count("<failure") == 2
    assert (artifacts / "Dockerfile").read_text() == gold.dockerfile

    # base image, then the gold image from the rendered Dockerfile, then two test runs
    base_build, gold_build = fake.calls_of("build")
    assert base_build.image == settings.base_image and base_build.stage == "base"
    assert base_build.files["Dockerfile"].startswith(b"# cligym base image")
    assert gold_build.image == gold.image_tag and gold_build.stage == "gold"
    assert gold_build.labels == {"cligym.gold": gold.id}
    assert gold_build.files["Dockerfile"].decode() == gold.dockerfile
    assert f"FROM {settings.base_image}\n" in gold.dockerfile
    assert "app/flakyproj.py" in gold_build.files  # the source is in the build context

    first, second = (c for c in fake.calls_of("run") if "pytest" in c.script)
    for index, call in enumerate((first, second), start=1):
        assert call.image == gold.image_tag and call.stage == "gold"
        assert (call.user, call.workdir, call.network) == ("root", "/app", False)
        assert call.env == {"HOME": "/home/tester", "PYTHONHASHSEED": str(index)}
        assert call.collect == (RESULTS,) and call.timeout_sec == 321
    # every run: the documented command (pytest-timeout's limit is part of it, so the issue
    # text quotes it), then the report options
    limited = PYTEST.replace(" -p ", f" -o timeout={PER_TEST_TIMEOUT_SEC} -p ", 1)
    assert first.argv == ("bash", "-c", as_tester(METADATA + limited))
    assert second.argv == ("bash", "-c", as_tester(limited))
    assert "pytest-timeout" in gold.recipe.requirements


def test_a_second_request_is_a_cache_hit_without_containers(settings, catalog):
    fake = _engine([_run(ADDS, python="3.12.3"), _run(ADDS)])
    request = GoldRequest(spec=str(REPO), runs=2, min_tests=3)
    first = build_gold(request, settings, fake, catalog)
    calls = len(fake.calls)
    again = build_gold(request, settings, fake, catalog)
    assert again.cached and again.gold == first.gold
    new = fake.calls[calls:]
    assert [c.op for c in new] == ["run"]  # only the base python probe
    assert fake.calls_of("build")[-1].stage == "gold" and len(fake.calls_of("build")) == 2


def _ops(calls: list[Call]) -> list[tuple[str, str]]:
    return [(c.op, c.image) for c in calls if c.op in ("build", "remove_image")]


@pytest.mark.parametrize(
    ("runs", "error", "match"),
    [
        ([_run([], {a: "boom" for a in ADDS})] * 2, GoldTestsError, "all 5 tests fail"),
        ([Reply(exit_code=2, output="ImportError: no module")], GoldTestsError, "no report"),
        ([Reply(exit_code=124, timed_out=True)], GoldTestsError, "did not finish within 321 s"),
        ([_run(ADDS[:2], python="3.12.3")] * 2, GoldTestsError, "only 2 tests pass stably"),
    ],
)
def test_a_gold_env_that_cannot_hold_tests_is_refused_and_its_image_removed(
    settings, catalog, runs, error, match
):
    fake = _engine(list(runs))
    with pytest.raises(error, match=match):
        build_gold(GoldRequest(spec=str(REPO), runs=2, min_tests=3), settings, fake, catalog)
    (gold_tag,) = [c.image for c in fake.calls_of("build") if c.stage == "gold"]
    assert _ops(fake.calls)[-1] == ("remove_image", gold_tag)
    assert gold_tag not in fake.images and catalog.list_gold() == []


def test_a_failed_install_is_one_line_naming_pips_error(settings, catalog):
    fake = _engine([])
    failure = DockerOperationError(
        "docker build of x failed: ERROR: No matching distribution found for nosuchpkg"
    )
    fake.on("build", Reply(error=failure), when=lambda c: c.stage == "gold")
    with pytest.raises(InstallError, match="No matching distribution found for nosuchpkg"):
        build_gold(GoldRequest(spec=str(REPO), runs=2), settings, fake, catalog)
    assert not any("pytest" in c.script for c in fake.calls_of("run"))


def test_tests_and_k_narrow_the_documented_command_and_make_another_gold(settings, catalog):
    """A huge suite, restricted on purpose: the selection is part of the command the tests
    run with (and the issue text quotes), and of the gold id."""
    fake = _engine([_run(ADDS, python="3.12.3"), _run(ADDS)] * 2)
    whole = build_gold(GoldRequest(spec=str(REPO), runs=2, min_tests=3), settings, fake, catalog)
    request = GoldRequest(
        spec=str(REPO), runs=2, min_tests=3, tests=("tests/test_flaky.py",), keyword="add or x"
    )
    part = build_gold(request, settings, fake, catalog)
    assert part.gold.id != whole.gold.id
    assert render_user_command(part.gold.recipe, part.gold.layout).endswith(
        f"python -m pytest tests/test_flaky.py -k 'add or x' -o timeout={PER_TEST_TIMEOUT_SEC}"
    )
    assert "python -m pytest tests/test_flaky.py -k " in fake.calls_of("run")[-1].text
    assert part.gold.recipe.pytest_args[-3:] == ("tests/test_flaky.py", "-k", "add or x")


@pytest.mark.parametrize(
    ("tests", "keyword", "says"),
    [
        (("tests/nope.py",), "", "--tests tests/nope.py: tests/nope.py is not in the repository"),
        (("../outside",), "", "give a path inside the repository"),
        (("/abs/tests",), "", "give a path inside the repository"),
        ((), "  ", "-k needs an expression"),
    ],
)
def test_a_bad_test_selection_is_one_line_before_any_build(settings, catalog, tests, keyword,
                                                           says):
    fake = _engine([])
    request = GoldRequest(spec=str(REPO), runs=2, min_tests=3, tests=tests, keyword=keyword)
    with pytest.raises(CligymError, match=re.escape(says)):
        build_gold(request, settings, fake, catalog)
    assert not fake.calls_of("build") or all(c.stage != "gold" for c in fake.calls_of("build"))


def test_python_picks_the_base_image_of_the_release_that_has_it(settings, catalog):
    """`--python 3.13`: bookworm's base has 3.12 here, so trixie's base (its own tag, from its
    own upstream image) is built and the gold env is built on it; the default stays bookworm."""
    from cligym.gold.build import pick_base
    from cligym.runtime.base import UPSTREAM_IMAGES, base_tag_for

    fake = FakeRuntime()
    fake.add_image(UPSTREAM_IMAGE)
    fake.add_image(UPSTREAM_IMAGES["trixie"])
    trixie = base_tag_for(settings.base_image, "trixie")
    assert trixie == "cligym-base:trixie"
    fake.on("run", Reply(output="3.13.5\n"), image=trixie, when=lambda c: c.argv[0] == "python3")
    fake.on("run", Reply(output="3.12.3\n"), when=lambda c: c.argv[0] == "python3")
    base, version = pick_base(fake, settings, "3.13")
    assert (base.tag, base.from_image, version) == (trixie, UPSTREAM_IMAGES["trixie"], "3.13.5")
    assert [b.image for b in fake.calls_of("build")] == [settings.base_image, trixie]
    base, version = pick_base(fake, settings, "")
    assert (base.tag, version) == (settings.base_image, "3.12.3")
    with pytest.raises(CligymError, match=r"--python 3.9: no base image has it \(bookworm has "
                                          r"3.12.3, trixie has 3.13.5\)"):
        pick_base(fake, settings, "3.9")
    with pytest.raises(CligymError, match=r"give a version as X\.Y"):
        pick_base(fake, settings, "trixie")


def test_python_is_for_cligyms_own_recipe(settings, catalog):
    fake = _engine([])
    for request in (GoldRequest(spec="image:x:1", python="3.13"),
                    GoldRequest(spec=str(REPO), dockerfile="Dockerfile", python="3.13")):
        with pytest.raises(CligymError, match="an image or a Dockerfile brings its own Python"):
            build_gold(request, settings, fake, catalog)
    assert fake.calls_of("build") == []


def test_a_project_that_needs_a_newer_python_gets_the_base_that_has_it(
    settings, catalog, tmp_path: Path
):
    """`requires-python = ">=3.13"` and bookworm's base has 3.12: the gold env is built on
    trixie's base without being asked; one that no base serves is a one-line error."""
    import shutil

    from cligym.runtime.base import UPSTREAM_IMAGES

    repo = tmp_path / "newer"
    shutil.copytree(REPO, repo)
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        'version = "0.1.0"', 'version = "0.1.0"\nrequires-python = ">=3.13"'))
    fake = FakeRuntime()
    fake.add_image(UPSTREAM_IMAGE)
    fake.add_image(UPSTREAM_IMAGES["trixie"])
    fake.on("run", Reply(output="3.13.5\n"), image="cligym-base:trixie",
            when=lambda c: c.argv[0] == "python3")
    fake.on("run", Reply(output="3.12.3\n"), when=lambda c: c.argv[0] == "python3")
    for reply in (_run(ADDS, python="3.13.5"), _run(ADDS)):
        fake.on("run", reply, contains="python -m pytest", times=1)
    gold = build_gold(GoldRequest(spec=str(repo), runs=2, min_tests=3), settings, fake,
                      catalog).gold
    assert gold.base_image == "cligym-base:trixie" and gold.python_version == "3.13.5"
    assert "FROM cligym-base:trixie\n" in gold.dockerfile

    pyproject.write_text(pyproject.read_text().replace(">=3.13", "<3.10"))
    with pytest.raises(CligymError, match=r"newer requires Python <3.10; no base image has it "
                                          r"\(bookworm has 3.12.3, trixie has 3.13.5\)"):
        build_gold(GoldRequest(spec=str(repo), runs=2, min_tests=3), settings, fake, catalog)
