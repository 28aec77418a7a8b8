"""Gold, invert, verify and Harbor on images someone already has: a SWE-smith-style image (the
project at /testbed, a conda-style env `testbed` under /opt/miniconda3, activated from root's
~/.bashrc) and an R2E-Gym-style one (a uv-style venv at /testbed/.venv). Registry pulls do not
work here, so the tests build both layouts locally from the embedded sample, FROM cligym's base
image: neither has /app or /opt/venv.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from cligym.api import Workspace, sample_repo_path
from cligym.faults.registry import family
from cligym.gold.build import GoldRequest, GoldResult
from cligym.ids import content_id
from tests.docker.candidates import assert_verified, first_breaking

pytestmark = pytest.mark.docker

# conda itself cannot be installed here: the env is an interpreter with its own standard
# library under the env's prefix (no pyvenv.cfg; Debian's interpreter installs under the
# prefix's local/, whose scripts are linked into bin/ as conda's are), conda-meta, and an
# `activate` script whose `conda activate NAME` does what conda's does to the shell (the
# environment found in the envs directories in conda's order: the user's ~/.conda/envs first
# when the root prefix's conda-meta/history is not writable, as for the test user; its prefix
# first on PATH, the variables saved in its conda-meta/state exported, then its
# etc/conda/activate.d/*.sh sourced)
CONDA_SH = r"""# conda shell functions (stand-in)
conda() {
  if [ "$1" = activate ]; then
    CONDA_DEFAULT_ENV="${2:-base}"
    if [ -w /opt/miniconda3/conda-meta/history ]; then
      dirs="/opt/miniconda3/envs $HOME/.conda/envs"
    else
      dirs="$HOME/.conda/envs /opt/miniconda3/envs"
    fi
    for d in $dirs; do [ -d "$d/$CONDA_DEFAULT_ENV" ] && break; done
    CONDA_PREFIX=$d/$CONDA_DEFAULT_ENV
    PATH="$CONDA_PREFIX/bin:$PATH"
    export CONDA_DEFAULT_ENV CONDA_PREFIX PATH
    eval "$("$CONDA_PREFIX/bin/python" -c "$_CONDA_STATE_VARS" "$CONDA_PREFIX" 2>/dev/null)"
    for f in "$CONDA_PREFIX"/etc/conda/activate.d/*.sh; do [ -r "$f" ] && . "$f"; done
  fi
}
_CONDA_STATE_VARS='
import json, os, shlex, sys
path = os.path.join(sys.argv[1], "conda-meta", "state")
state = json.load(open(path)) if os.path.exists(path) else {}
for name, value in state.get("env_vars", {}).items():
    print(f"export {name}={shlex.quote(value)}")
'
"""

SWE_SMITH_LIKE = r"""
FROM {base}
COPY app/ /testbed/
COPY conda.sh /opt/miniconda3/etc/profile.d/conda.sh
COPY conda.sh /opt/miniconda3/bin/activate
RUN P=/opt/miniconda3/envs/testbed \
 && mkdir -p $P/bin $P/lib $P/conda-meta /opt/miniconda3/conda-meta \
 && printf '==> 2024-01-01 00:00:00 <==\n# cmd: conda install -n base conda\n' \
    > /opt/miniconda3/conda-meta/history \
 && cp /usr/bin/python3.11 $P/bin/python3.11 && ln -s python3.11 $P/bin/python3 \
 && ln -s python3.11 $P/bin/python && cp -a /usr/lib/python3.11 $P/lib/python3.11 \
 && rm -f $P/lib/python3.11/EXTERNALLY-MANAGED \
 && w=$(ls /usr/share/python-wheels/pip-*.whl) && $P/bin/python $w/pip install -q --no-index $w \
 && printf '==> 2024-01-01 00:00:00 <==\n# cmd: conda create -n testbed python=3.11\n' \
    > $P/conda-meta/history \
 && cd /testbed && $P/bin/python -m pip install -q --no-cache-dir -e . pytest \
 && for f in $P/local/bin/*; do ln -sf "$f" $P/bin/; done \
 && echo 'source /opt/miniconda3/etc/profile.d/conda.sh && conda activate testbed' > /root/.bashrc
ENV PATH=/opt/miniconda3/bin:$PATH
WORKDIR /testbed
"""

R2E_LIKE = r"""
FROM {base}
COPY app/ /testbed/
RUN python3 -m venv /testbed/.venv && echo 'uv = 0.4.30' >> /testbed/.venv/pyvenv.cfg \
 && cd /testbed && .venv/bin/pip install -q --no-cache-dir -e . pytest
ENV VIRTUAL_ENV=/testbed/.venv PATH=/testbed/.venv/bin:$PATH
WORKDIR /testbed
"""


def _user_image(
    workspace: Workspace, tmp_path_factory, name: str, template: str, files: dict[str, str]
) -> str:
    """The layout's image of the sample, tagged by its content (kept between sessions)."""
    text = template.replace("{base}", workspace.settings.base_image)
    base_id = workspace.runtime.image_id(workspace.settings.base_image)
    key = content_id(text, base_id, str(sample_repo_path()), *files.values(), length=12)
    tag = f"cligym-test/{name}:{key}"
    if workspace.runtime.image_id(tag) is None:
        context = tmp_path_factory.mktemp(name)
        shutil.copytree(sample_repo_path(), context / "app")
        (context / "Dockerfile").write_text(text)
        for path, content in files.items():
            (context / path).write_text(content)
        workspace.runtime.build(context, tag, kind="test", timeout_sec=1200)
    return tag


@pytest.fixture(scope="module")
def workspace(workspace: Workspace, tmp_path_factory) -> Workspace:
    """A catalog of its own (same engine and base image): the image golds' tasks stay out of
    the session catalog whose exports other tests count."""
    settings = dataclasses.replace(workspace.settings, workdir=tmp_path_factory.mktemp("image"))
    return Workspace(settings, runtime=workspace.runtime)


@pytest.fixture(scope="module")
def swe_smith_gold(workspace: Workspace, tmp_path_factory) -> GoldResult:
    files = {"conda.sh": CONDA_SH}
    ref = _user_image(workspace, tmp_path_factory, "swesmith-like", SWE_SMITH_LIKE, files)
    return workspace.gold(GoldRequest(spec=f"image:{ref}", runs=2))


def test_a_swe_smith_style_image_becomes_a_gold_env(swe_smith_gold: GoldResult):
    gold = swe_smith_gold.gold
    assert gold.source.kind == "image" and gold.layout.app_dir == "/testbed"
    assert gold.layout.env_dir == "/opt/miniconda3/envs/testbed" and gold.layout.env_kind == "conda"
    assert len(gold.stability.stable_passing) >= 40
    # the login shell's pip is the conda env's: the project and its dependencies are there
    names = {line.split("==")[0].split(" ")[0].lower() for line in gold.pip_freeze}
    assert {"pyyaml", "tabulate", "pytest"} <= names
    assert "FROM cligym-test/swesmith-like:" in gold.dockerfile
    assert "conda activate testbed" in gold.dockerfile


def test_invert_and_verify_on_it_give_tasks_in_its_own_layout(
    swe_smith_gold: GoldResult, workspace: Workspace, tmp_path: Path
):
    gold = swe_smith_gold.gold
    search = workspace.invert(gold.id, budget=6, seed=3, max_faults=2)
    # the project is installed editable under its own name: no index can give it back
    reinstalled = ("dist-removed", "dist-downgraded", "dist-files-missing")
    assert not [
        a.families
        for a in search.attempts
        if set(a.families) & set(reinstalled) and "stashkit" in {r.name for r in a.resources}
    ]
    workspace.verify(gold.id)
    tasks = workspace.list_tasks(gold.id)
    assert tasks, "the SWE-smith-style gold env gave no verified task"
    for task in tasks:
        text = "\n".join([*task.steps, *task.solution])
        assert "/opt/venv" not in text and " /app" not in text, text
    # a task runs in Harbor as any other: the reference repair scores 1, doing nothing 0
    out = tmp_path / "ds"
    report = workspace.export(
        out, "harbor", names=[tasks[0].name], network="internet", gold_images="none"
    )
    assert report.written and not report.skipped
    result = workspace.validate(out, "harbor")
    assert all(r.valid for r in result.results), [(r.oracle, r.nop) for r in result.results]


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("conda-activate-hook", "{env}/etc/conda/activate.d/"),
        ("conda-env-vars", "{env}/conda-meta/state"),
        ("conda-env-shadowed", "/home/tester/.conda/envs/testbed/bin"),
    ],
)
def test_the_conda_families_break_and_both_solutions_repair(
    swe_smith_gold: GoldResult, workspace: Workspace, name: str, where: str
):
    """The conda-only families on the conda-style env: what each `conda activate` of the test
    user's login shell picks up (a hook's or a saved variable, another environment of the same
    name) breaks tests, and both solutions repair it."""
    gold = swe_smith_gold.gold
    fam = family(name)
    target, outcome = first_breaking(workspace, gold, fam.name, tries=4)
    assert where.format(env=gold.layout.env_dir) in fam.steps(target)[0]
    assert_verified(workspace, gold, (target,), outcome, f"test-{name}")


def test_an_r2e_gym_style_image_becomes_a_gold_env(workspace: Workspace, tmp_path_factory):
    ref = _user_image(workspace, tmp_path_factory, "r2e-like", R2E_LIKE, {})
    gold = workspace.gold(GoldRequest(spec=f"image:{ref}", runs=2)).gold
    assert (gold.layout.app_dir, gold.layout.env_dir) == ("/testbed", "/testbed/.venv")
    assert len(gold.stability.stable_passing) >= 40
    assert gold.recipe.notes[0].startswith("layout r2e-gym")


def test_the_projects_own_dockerfile_is_the_recipe(workspace: Workspace, tmp_path: Path):
    """`--dockerfile`: the project is where the Dockerfile's WORKDIR is, its environment is the
    one `python` on the image's PATH belongs to; nothing of cligym's recipe runs."""
    repo = tmp_path / "stashkit"
    shutil.copytree(sample_repo_path(), repo)
    (repo / "ci").mkdir()
    (repo / "ci" / "Dockerfile").write_text(
        f"FROM {workspace.settings.base_image}\n"
        "WORKDIR /srv/stashkit\nCOPY . .\n"
        "RUN python3 -m venv /srv/venv && /srv/venv/bin/pip install -q --no-cache-dir -e . pytest\n"
        "ENV PATH=/srv/venv/bin:$PATH\n"
    )
    gold = workspace.gold(GoldRequest(spec=str(repo), runs=2, dockerfile="ci/Dockerfile")).gold
    assert (gold.layout.app_dir, gold.layout.env_dir) == ("/srv/stashkit", "/srv/venv")
    assert gold.source.kind == "local" and gold.recipe.notes[0].startswith("layout dockerfile")
    assert len(gold.stability.stable_passing) >= 40
    assert gold.dockerfile.splitlines()[1].startswith("FROM cligym-user/stashkit:")


def test_the_projects_dev_container_is_the_recipe(workspace: Workspace, tmp_path: Path):
    """`--dockerfile .devcontainer`: the dev container's Dockerfile built, the project copied
    to its workspace folder and its creation command run there (editors mount the project at
    start; a gold env needs it in the image)."""
    repo = tmp_path / "stashkit"
    shutil.copytree(sample_repo_path(), repo)
    (repo / ".devcontainer").mkdir()
    (repo / ".devcontainer" / "Dockerfile").write_text(
        f"FROM {workspace.settings.base_image}\n"
        "ARG VENV=/opt/none\nRUN python3 -m venv $VENV\nENV PATH=$VENV/bin:$PATH\n"
    )
    (repo / ".devcontainer" / "devcontainer.json").write_text(
        "{\n  // as an editor writes it\n"
        '  "build": {"dockerfile": "Dockerfile", "context": "..", "args": {"VENV": "/opt/dev"}},\n'
        '  "postCreateCommand": "pip install -q --no-cache-dir -e . pytest",\n'
        '  "features": {"ghcr.io/devcontainers/features/node:1": {}},\n}\n'
    )
    gold = workspace.gold(GoldRequest(spec=str(repo), runs=2, dockerfile=".devcontainer")).gold
    assert (gold.layout.app_dir, gold.layout.env_dir) == ("/workspaces/stashkit", "/opt/dev")
    assert len(gold.stability.stable_passing) >= 40
    assert gold.dockerfile.splitlines()[1].startswith("FROM cligym-user/stashkit:")
