"""A repository's dev container (`.devcontainer/devcontainer.json`) as its gold recipe.

A dev container is how many projects say "this is the environment to work in": an image or a
Dockerfile, the folder the project lives in (`workspaceFolder`, by default
`/workspaces/<folder name>`), and the commands that set the project up once the container
exists (`onCreateCommand`, `updateContentCommand`, `postCreateCommand`). The tools that run
them bind-mount the project at start; a gold env needs it in the image, so cligym builds the
container's image, then one layer that copies the project to its workspace folder and runs
those commands there. What that image holds is then a gold env like any existing image (see
gold/image.py): the project is the workspace folder, the environment the `python` on PATH.

Features (`features`) are OCI artifacts fetched from a registry at creation time: they are
not installed (the recipe's notes say so). Compose-based containers are refused.
Spec: https://containers.dev/implementors/json_reference/
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import json5

from cligym.errors import CligymError

DEVCONTAINER_NAMES = (".devcontainer/devcontainer.json", ".devcontainer.json")
LIFECYCLE = ("onCreateCommand", "updateContentCommand", "postCreateCommand")
"""Run once when the container is created, in this order (postStart/postAttach run on every
start or attach of an editor: not part of the environment)."""
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_FOLDER = re.compile(r"/[A-Za-z0-9._/-]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class DevContainer:
    """What of a devcontainer.json makes the environment (paths relative to the repository)."""

    path: str
    image: str = ""  # an existing image, or
    dockerfile: str = ""  # a Dockerfile, built with
    context: str = "."
    build_args: dict[str, str] = field(default_factory=dict)
    workspace_folder: str = ""
    env: dict[str, str] = field(default_factory=dict)
    commands: tuple[str, ...] = ()  # shell lines, in lifecycle order
    features: tuple[str, ...] = ()


def is_devcontainer(path: str) -> bool:
    """Whether `--dockerfile PATH` names a dev container rather than a Dockerfile."""
    return PurePosixPath(path).name in ("devcontainer.json", ".devcontainer.json") or (
        PurePosixPath(path).name == ".devcontainer"
    )


def parse_devcontainer(text: str, path: str, project: str) -> DevContainer:
    """Pure: the dev container at `path` (its JSONC text), for a project folder named
    `project`. Raises CligymError naming what cannot be used."""
    try:
        data = json5.loads(text)
    except ValueError as err:
        raise CligymError(f"{path}: not valid JSON with comments ({err})") from None
    if not isinstance(data, dict):
        raise CligymError(f"{path}: expected a JSON object")
    if "dockerComposeFile" in data:
        raise CligymError(
            f"{path}: a Docker Compose dev container is not supported; give its service's "
            "Dockerfile with --dockerfile instead"
        )
    folder = str(PurePosixPath(path).parent)
    build: dict[str, Any] = data["build"] if isinstance(data.get("build"), dict) else {}
    dockerfile = _text(build.get("dockerfile") or data.get("dockerFile") or "", path, "dockerfile")
    context = _text(build.get("context") or data.get("context") or ".", path, "context")
    image = _text(data.get("image") or "", path, "image")
    if build.get("target"):
        raise CligymError(f"{path}: build.target is not supported; build that stage by hand "
                          "and use image:REF")
    if not dockerfile and not image:
        raise CligymError(f"{path}: names neither an image nor a build.dockerfile")
    workspace = _text(data.get("workspaceFolder") or "", path, "workspaceFolder")
    local = {"localWorkspaceFolderBasename": project, "localWorkspaceFolder": f"/{project}"}
    workspace = _expand(workspace or "/workspaces/${localWorkspaceFolderBasename}", local, path)
    if not _FOLDER.fullmatch(workspace) or ".." in PurePosixPath(workspace).parts:
        raise CligymError(
            f"{path}: workspaceFolder {workspace!r} must be an absolute path of letters, digits "
            "and ._-/"
        )
    names = {**local, "containerWorkspaceFolder": workspace,
             "containerWorkspaceFolderBasename": PurePosixPath(workspace).name}
    env: dict[str, str] = {}
    for key in ("containerEnv", "remoteEnv"):
        table = data.get(key) or {}
        if not isinstance(table, dict):
            raise CligymError(f"{path}: {key} must be an object of strings")
        for name, value in table.items():
            if not _NAME.fullmatch(str(name)):
                raise CligymError(f"{path}: {key} has a variable name Docker cannot set: {name!r}")
            if value is not None:
                env[str(name)] = _expand(_text(value, path, key), names, path)
    args = {str(k): _expand(_text(v, path, "build.args"), names, path)
            for k, v in (build.get("args") or {}).items()}
    commands = tuple(
        line
        for key in LIFECYCLE
        for line in _command_lines(data.get(key), path, key)
    )
    features = tuple(sorted(str(k) for k in (data.get("features") or {})))
    return DevContainer(
        path=path,
        image=image,
        dockerfile=_relative(folder, dockerfile, path) if dockerfile else "",
        context=_relative(folder, context, path),
        build_args=args,
        workspace_folder=workspace,
        env=env,
        commands=tuple(_expand(c, names, path) for c in commands),
        features=features,
    )


def render_setup_dockerfile(dev: DevContainer, from_ref: str) -> str:
    """The layer on the container's image: the project copied to its workspace folder, the
    container's environment variables, the creation commands run there (as root: the gold
    layer makes the test user own the project afterwards)."""
    folder = dev.workspace_folder
    lines = [f"# the dev container {dev.path}, created", f"FROM {from_ref}", "USER root"]
    lines += [f"ENV {k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(dev.env.items())]
    lines += [f'COPY [".", "{folder}/"]', f"WORKDIR {folder}"]
    lines += [f"RUN {command}" for command in dev.commands]
    return "\n".join(lines) + "\n"


def _command_lines(value: Any, path: str, key: str) -> list[str]:
    """A lifecycle command as shell lines: a string runs in a shell, an array runs without
    one (each word quoted), an object holds named commands (run one after another here)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [shlex.join(value)] if value else []
    if isinstance(value, dict):
        return [line for name in value for line in _command_lines(value[name], path, key)]
    raise CligymError(f"{path}: {key} must be a string, an array of strings or an object")


def _text(value: Any, path: str, key: str) -> str:
    if not isinstance(value, str):
        raise CligymError(f"{path}: {key} must be a string")
    return value


def _expand(text: str, names: dict[str, str], path: str) -> str:
    """`${name}` variables of the spec; `${localEnv:X}` and `${containerEnv:X}` become the
    build-time variable `$X` (the host's environment is not the task's)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        for prefix in ("localEnv:", "containerEnv:"):
            if name.startswith(prefix):
                var = name.removeprefix(prefix).split(":", 1)[0]
                return "${" + var + "}"
        if name in names:
            return names[name]
        raise CligymError(f"{path}: unknown variable ${{{name}}}")

    return _VARIABLE.sub(one, text)


def _relative(folder: str, name: str, path: str) -> str:
    """`name` (relative to the devcontainer.json's folder) relative to the repository."""
    joined = PurePosixPath(folder) / name
    parts: list[str] = []
    for part in joined.parts:
        if part == "..":
            if not parts:
                raise CligymError(f"{path}: {name} points outside the repository")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts) or "."
