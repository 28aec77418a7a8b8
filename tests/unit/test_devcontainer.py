"""A devcontainer.json read as a gold recipe: what it builds, where the project goes, which
commands set it up, and a one-line error for what cannot be used."""

from __future__ import annotations

import pytest

from cligym.errors import CligymError
from cligym.gold.devcontainer import is_devcontainer, parse_devcontainer, render_setup_dockerfile

TYPICAL = """// a dev container as VS Code writes it
{
    "name": "stashkit",
    "build": {
        "dockerfile": "Dockerfile",
        "context": "..",
        "args": { "VARIANT": "3.11", "HOME_DIR": "${localWorkspaceFolderBasename}" },
    },
    /* where the project is mounted */
    "containerEnv": { "PIP_NO_CACHE_DIR": "1", "PATH": "${containerEnv:PATH}:/opt/tools" },
    "onCreateCommand": ["pip", "install", "-e", ".[test]"],
    "postCreateCommand": { "hooks": "pre-commit install || true", "echo": "echo done" },
    "postStartCommand": "git fetch",
    "features": { "ghcr.io/devcontainers/features/github-cli:1": {} },
}
"""


def test_a_typical_dev_container_builds_its_dockerfile_and_sets_up_the_project():
    dev = parse_devcontainer(TYPICAL, ".devcontainer/devcontainer.json", "stashkit")
    # paths are relative to the devcontainer.json's folder in the file, to the repo here
    assert (dev.dockerfile, dev.context, dev.image) == (".devcontainer/Dockerfile", ".", "")
    assert dev.build_args == {"VARIANT": "3.11", "HOME_DIR": "stashkit"}
    assert dev.workspace_folder == "/workspaces/stashkit"
    assert dev.env == {"PIP_NO_CACHE_DIR": "1", "PATH": "${PATH}:/opt/tools"}
    # creation commands in lifecycle order (an array runs without a shell: quoted words);
    # postStartCommand runs at every start of an editor, not when the environment is made
    assert dev.commands == (
        "pip install -e '.[test]'", "pre-commit install || true", "echo done"
    )
    assert dev.features == ("ghcr.io/devcontainers/features/github-cli:1",)
    dockerfile = render_setup_dockerfile(dev, "cligym-user/stashkit-devcontainer:abc")
    assert dockerfile.splitlines()[1:] == [
        "FROM cligym-user/stashkit-devcontainer:abc",
        "USER root",
        'ENV PATH="${PATH}:/opt/tools"',
        'ENV PIP_NO_CACHE_DIR="1"',
        'COPY [".", "/workspaces/stashkit/"]',
        "WORKDIR /workspaces/stashkit",
        "RUN pip install -e '.[test]'",
        "RUN pre-commit install || true",
        "RUN echo done",
    ]


def test_an_image_dev_container_with_its_own_workspace_folder():
    text = '{"image": "python:3.12", "workspaceFolder": "/src/${localWorkspaceFolderBasename}",'
    text += ' "postCreateCommand": "pip install -e ${containerWorkspaceFolder}"}'
    dev = parse_devcontainer(text, ".devcontainer.json", "proj")
    assert (dev.image, dev.dockerfile, dev.workspace_folder) == ("python:3.12", "", "/src/proj")
    assert dev.commands == ("pip install -e /src/proj",)


def test_the_legacy_top_level_dockerfile_and_context():
    dev = parse_devcontainer('{"dockerFile": "../ci/Dockerfile", "context": "../ci"}',
                             ".devcontainer/devcontainer.json", "p")
    assert (dev.dockerfile, dev.context) == ("ci/Dockerfile", "ci")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON with comments"),
        ("[]", "expected a JSON object"),
        ('{"dockerComposeFile": "compose.yml", "service": "app"}', "Compose dev container"),
        ('{"name": "x"}', "neither an image nor a build.dockerfile"),
        ('{"build": {"dockerfile": "D", "target": "dev"}}', "build.target is not supported"),
        ('{"build": {"dockerfile": "../../D"}}', "outside the repository"),
        ('{"image": "x", "workspaceFolder": "rel/path"}', "must be an absolute path"),
        ('{"image": "x", "workspaceFolder": "/a b"}', "must be an absolute path"),
        ('{"image": "x", "postCreateCommand": 3}', "postCreateCommand must be"),
        ('{"image": "x", "containerEnv": {"A B": "1"}}', "variable name Docker cannot set"),
        ('{"image": "x", "postCreateCommand": "${devcontainerId}"}', "unknown variable"),
    ],
)
def test_what_cannot_be_used_is_a_one_line_error(text, message):
    with pytest.raises(CligymError, match=message) as err:
        parse_devcontainer(text, ".devcontainer/devcontainer.json", "p")
    assert "\n" not in str(err.value)


def test_which_paths_name_a_dev_container():
    assert is_devcontainer(".devcontainer/devcontainer.json")
    assert is_devcontainer(".devcontainer") and is_devcontainer(".devcontainer.json")
    assert not is_devcontainer("ci/Dockerfile") and not is_devcontainer("Dockerfile.dev")
