"""Gold from an existing image: references, names, layouts, the thin layer (pure parts), and
the one-line errors before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.errors import CligymError, SourceError
from cligym.gold.build import GoldRequest, build_gold
from cligym.gold.image import (
    BUILTIN_LAYOUTS,
    detect_layout,
    image_name,
    image_recipe,
    image_ref,
    load_layout,
    render_image_dockerfile,
)
from cligym.runtime.base import UPSTREAM_IMAGE
from cligym.runtime.fake import FakeRuntime, Reply


def test_image_refs_and_the_names_of_their_gold_envs():
    ref = "swebench/sweb.eval.x86_64.a:latest"
    assert image_ref(f"image:{ref}") == ref
    for bad in ("image:", "image:  ", "image:-rm", "image:a b"):
        with pytest.raises(SourceError, match="expected image:REF"):
            image_ref(bad)
    assert image_name("jyangballin/swesmith.x86_64.pallets_1776_click.fde47b4b") == "click"
    assert image_name("swebench/sweb.eval.x86_64.astropy_1776_astropy-12907:latest") == "astropy"
    assert image_name("xingyaoww/sweb.eval.x86_64.getmoto_s_moto-7365:latest") == "moto"
    assert image_name("namanjain12/pandas_final:abc123") == "pandas_final"
    assert image_name("localhost:5000/team/myproj@sha256:" + "0" * 64) == "myproj"


def test_layouts_are_recognised_by_their_own_paths():
    swe, r2e = BUILTIN_LAYOUTS
    assert detect_layout(set(swe.markers)) is swe
    assert detect_layout(set(r2e.markers) | {"/testbed"}) is r2e
    assert detect_layout({"/testbed"}) is None
    assert load_layout("swe-smith") is swe and load_layout("swe-gym") is swe
    assert load_layout("r2e") is r2e


def test_a_toml_layout_and_its_errors(tmp_path: Path):
    good = tmp_path / "mine.toml"
    good.write_text('app_dir = "/src"\nenv_dir = "/venv"\npytest_args = ["tests"]\n')
    profile = load_layout(str(good))
    assert (profile.name, profile.app_dir) == ("mine", "/src")
    assert profile.layout().python == "/venv/bin/python"
    bad = tmp_path / "bad.toml"
    bad.write_text('app_dir = "/src"\n')
    with pytest.raises(CligymError, match="invalid field 'env_dir'"):
        load_layout(str(bad))
    with pytest.raises(CligymError, match="neither a built-in layout"):
        load_layout(str(tmp_path / "missing.toml"))


def test_the_thin_layer_adds_the_user_activation_and_static_tools():
    swe = BUILTIN_LAYOUTS[0]
    text = render_image_dockerfile("acme/img:1", "cligym-base:bookworm", swe.layout(), "proj")
    lines = text.splitlines()
    assert lines[1] == "FROM acme/img:1"
    assert "COPY --from=cligym-base:bookworm /bin/busybox /bin/busybox" in lines
    assert "chown -R tester:tester /testbed" in text
    assert "'source /opt/miniconda3/bin/activate' 'conda activate testbed'" in text
    assert lines[-1] == "WORKDIR /testbed"
    recipe = image_recipe(swe, ("tests/a.py", "-k", "x"), 0)
    assert not recipe.install_project and recipe.requirements == ()
    assert recipe.pytest_args == ("tests/a.py", "-k", "x") and recipe.per_test_timeout_sec == 0


def test_a_missing_image_and_a_misplaced_layout_are_one_line_errors(tmp_path: Path):
    settings = Settings(workdir=tmp_path / "work")
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    fake = FakeRuntime()
    fake.add_image(UPSTREAM_IMAGE)
    with pytest.raises(SourceError, match="docker pull acme/none:1"):
        build_gold(GoldRequest(spec="image:acme/none:1"), settings, fake, catalog)
    with pytest.raises(CligymError, match="--layout is for image:REF"):
        build_gold(GoldRequest(spec=str(tmp_path), layout="swe-bench"), settings, fake, catalog)
    assert catalog.list_gold() == []


def test_reward_hacks_follow_the_tasks_layout():
    """The adversarial sweep aims each hack at the task's own project and environment (a hack
    that misses them would score 0 for the wrong reason)."""
    from cligym.grading.hacks import for_layout, hack_named

    moved = for_layout(hack_named("conftest-in-app").script, "/testbed", "/opt/conda/envs/t")
    assert "cat >> /testbed/conftest.py" in moved and "/app" not in moved
    shim = for_layout(hack_named("python-shim-on-path").script, "/testbed", "/opt/conda/envs/t")
    assert "exec /opt/conda/envs/t/bin/python" in shim and "/opt/venv" not in shim
    text = "cd /app && ls /apply /x/app /app/t"
    assert for_layout(text, "/w", "/e") == "cd /w && ls /apply /x/app /w/t"


def test_blind_fixers_follow_the_tasks_layout():
    from cligym.difficulty.ladder import LADDER
    from cligym.testbed.layout import relocate

    for rung in LADDER:
        moved = relocate(rung.script, "/testbed", "/opt/conda/envs/t")
        assert "/opt/venv" not in moved and not any(
            word == "/app" or word.startswith("/app/") for word in moved.split()
        ), rung.name
    rebuild = next(r for r in LADDER if r.name == "rebuild-venv")
    assert "--editable /testbed" in relocate(rebuild.script, "/testbed", "/opt/conda/envs/t")


def test_the_python_probe_of_a_dockerfile_image():
    from cligym.gold.image import parse_python_probe

    assert parse_python_probe("/srv/app\n/srv/venv\npytest\n") == ("/srv/app", "/srv/venv", True)
    assert parse_python_probe("/\n/usr\n") == ("/", "/usr", False)
    assert parse_python_probe("/w\nno python\n") == ("/w", "", False)


def test_dockerfile_errors_before_anything_is_built(tmp_path: Path):
    settings = Settings(workdir=tmp_path / "work")
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    fake = FakeRuntime()
    fake.add_image(UPSTREAM_IMAGE)
    fake.on("run", Reply(output="3.12.3\n"), when=lambda c: c.argv[0] == "python3")
    repo = tmp_path / "proj"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    (repo / "setup.py").write_text("from setuptools import setup\nsetup(name='proj')\n")
    with pytest.raises(CligymError, match="--dockerfile docker/Dockerfile: not a file"):
        build_gold(GoldRequest(spec=str(repo), dockerfile="docker/Dockerfile"), settings, fake,
                   catalog)
    with pytest.raises(CligymError, match=r"--dockerfile \.\./x: not a file"):
        build_gold(GoldRequest(spec=str(repo), dockerfile="../x"), settings, fake, catalog)
    with pytest.raises(CligymError, match="--dockerfile is for a repository source"):
        build_gold(GoldRequest(spec="image:a/b:1", dockerfile="Dockerfile"), settings, fake,
                   catalog)
    assert not fake.calls_of("build")[1:] and catalog.list_gold() == []


def test_the_layout_is_read_from_the_image():
    from cligym.gold.image import resolve_layout

    swe, _ = BUILTIN_LAYOUTS
    fake = FakeRuntime()
    present = [*swe.markers, f"{swe.env_dir}/bin/python"]
    fake.on("run", Reply(output="\n".join(present) + "\n"), contains="[ -e", times=1)
    assert resolve_layout(fake, "acme/img:1", "") is swe
    (probe,) = fake.calls_of("run")
    assert probe.image == "acme/img:1" and not probe.network
    # recognised, but its interpreter is gone: said before anything is built
    fake.on("run", Reply(output="\n".join(swe.markers) + "\n"), contains="[ -e", times=1)
    with pytest.raises(CligymError, match="needs /opt/miniconda3/envs/testbed/bin/python"):
        resolve_layout(fake, "acme/img:1", "")
    fake.on("run", Reply(output="/testbed\n"), contains="[ -e", times=1)
    with pytest.raises(CligymError, match="matches no built-in layout"):
        resolve_layout(fake, "acme/img:1", "")
