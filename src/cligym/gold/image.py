"""Gold from an image someone already has (`cligym gold image:REF`).

SWE-bench, SWE-Gym and SWE-smith images keep the repository at `/testbed` and its environment
in the conda env `testbed` (`/opt/miniconda3/envs/testbed`), activated by their harness with
`source /opt/miniconda3/bin/activate; conda activate testbed`; R2E-Gym images use a uv venv at
`/testbed/.venv`. A layout profile says where those things are; the built-in ones are
recognised by paths only their layout has, and a TOML file (`--layout FILE`) describes any
other. The gold image is the user's image plus one thin layer: the unprivileged test user who
runs the tests (owning the project, as in cligym's own golds), the environment's activation in
that user's login shell, and the two static binaries the exported verifier starts from. The
project and its environment stay as the image has them.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cligym.errors import CligymError, SourceError
from cligym.records import Layout, RecipeSpec, RepoSource, SourceKind
from cligym.runtime.protocol import Runtime
from cligym.testbed.layout import PROFILE_SNIPPET, TEST_USER

IMAGE_PREFIX = "image:"
STATIC_TOOLS = ("/bin/busybox", "/bin/bash-static")
"""From cligym's base image: the verifier checks the interpreter with them before trusting it."""


class LayoutProfile(BaseModel):
    """Where an image family keeps the project and its environment (TOML for `--layout`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    markers: tuple[str, ...] = Field(default=(), description="paths only this layout has")
    app_dir: str = "/testbed"
    env_dir: str
    env_kind: Literal["venv", "conda"] = "venv"
    activation: tuple[str, ...] = ()
    pytest_args: tuple[str, ...] = ()

    def layout(self) -> Layout:
        return Layout(
            app_dir=self.app_dir,
            env_dir=self.env_dir,
            env_kind=self.env_kind,
            activation=self.activation,
        )


BUILTIN_LAYOUTS = (
    LayoutProfile(
        name="swe-bench",
        markers=("/opt/miniconda3/envs/testbed/conda-meta", "/opt/miniconda3/bin/activate",
                 "/testbed"),
        env_dir="/opt/miniconda3/envs/testbed",
        env_kind="conda",
        activation=("source /opt/miniconda3/bin/activate", "conda activate testbed"),
    ),
    LayoutProfile(
        name="r2e-gym",
        markers=("/testbed/.venv/pyvenv.cfg",),
        env_dir="/testbed/.venv",
        env_kind="venv",
        activation=("export VIRTUAL_ENV=/testbed/.venv", 'export PATH="/testbed/.venv/bin:$PATH"'),
    ),
)
"""SWE-smith and SWE-Gym images have SWE-bench's layout (same paths, same activation)."""
LAYOUT_ALIASES = {"swe-smith": "swe-bench", "swe-gym": "swe-bench", "r2e": "r2e-gym"}


def image_ref(spec: str) -> str:
    """Pure: `image:REF` -> REF (a one-line error when REF is empty or malformed)."""
    ref = spec.removeprefix(IMAGE_PREFIX).strip()
    if not ref or any(c.isspace() for c in ref) or ref.startswith("-"):
        raise SourceError(f"{spec!r}: expected image:REF, e.g. image:swebench/sweb.eval.x86_64.x")
    return ref


def image_name(ref: str) -> str:
    """Pure: a short name for the gold env of an image (its repository's last part, the
    SWE-smith/SWE-bench `owner_1776_repo` pattern reduced to the repository)."""
    repo = ref.split("@", 1)[0].rsplit("/", 1)[-1]
    repo = re.sub(r":[^:/]*$", "", repo)
    match = re.search(r"_(?:1776|s)_([a-z0-9][a-z0-9._-]*?)(?:[.-][0-9a-f]{7,40})?(?:$|-\d)", repo)
    name = match.group(1) if match else repo
    return name.strip("._-") or "image"


def builtin_layout(name: str) -> LayoutProfile | None:
    wanted = LAYOUT_ALIASES.get(name, name)
    return next((p for p in BUILTIN_LAYOUTS if p.name == wanted), None)


def load_layout(value: str) -> LayoutProfile:
    """`--layout NAME` (built-in) or `--layout FILE.toml`."""
    found = builtin_layout(value)
    if found is not None:
        return found
    path = Path(value)
    if not path.is_file():
        names = ", ".join([p.name for p in BUILTIN_LAYOUTS] + sorted(LAYOUT_ALIASES))
        raise CligymError(f"--layout {value}: neither a built-in layout ({names}) nor a file")
    try:
        data = tomllib.loads(path.read_text())
        data.setdefault("name", path.stem)
        return LayoutProfile.model_validate(data)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise CligymError(f"--layout {value}: cannot read TOML ({err})") from err
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CligymError(f"--layout {value}: invalid field {where!r}: {first['msg']}") from err


def detect_layout(present: set[str]) -> LayoutProfile | None:
    """Pure: the first built-in layout whose marker paths all exist in the image."""
    return next(
        (p for p in BUILTIN_LAYOUTS if p.markers and all(m in present for m in p.markers)), None
    )


def probe_paths(runtime: Runtime, ref: str, paths: set[str]) -> set[str]:
    """Which of `paths` exist in the image (one throwaway container, no network)."""
    script = "; ".join(f"[ -e {shlex.quote(p)} ] && echo {shlex.quote(p)}" for p in sorted(paths))
    result, _ = runtime.run(
        ref, ["sh", "-c", script + "; true"], stage="gold", timeout_sec=120, user="root",
        network=False,
    )
    return {line.strip() for line in result.output.splitlines() if line.strip() in paths}


def resolve_layout(runtime: Runtime, ref: str, layout: str) -> LayoutProfile:
    """The layout asked for, else the built-in one the image matches; the paths it names must
    be in the image."""
    profile = load_layout(layout) if layout else None
    candidates = [profile] if profile is not None else list(BUILTIN_LAYOUTS)
    wanted = {m for p in BUILTIN_LAYOUTS for m in p.markers}
    wanted |= {path for p in candidates for path in (p.app_dir, f"{p.env_dir}/bin/python")}
    present = probe_paths(runtime, ref, wanted)
    if profile is None:
        profile = detect_layout(present)
        if profile is None:
            names = ", ".join(p.name for p in BUILTIN_LAYOUTS)
            raise CligymError(
                f"image {ref} matches no built-in layout ({names}): describe it with "
                "--layout FILE.toml (app_dir, env_dir, env_kind, activation)"
            )
    for path in (profile.app_dir, f"{profile.env_dir}/bin/python"):
        if path not in present:
            raise CligymError(f"image {ref}: layout {profile.name} needs {path}, which it lacks")
    return profile


_PROBE_PYTHON = (
    "pwd; for p in python python3; do if command -v $p >/dev/null 2>&1; then "
    "exec $p -c 'import sys; print(sys.prefix, flush=True); import pytest; print(\"pytest\")' "
    "2>/dev/null; fi; done; echo 'no python'"
)


def parse_python_probe(output: str) -> tuple[str, str, bool]:
    """Pure: (working dir, sys.prefix, pytest importable) from the probe's output."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    workdir = lines[0] if lines and lines[0].startswith("/") else "/"
    prefix = lines[1] if len(lines) > 1 and lines[1].startswith("/") else ""
    return workdir, prefix, "pytest" in lines[2:]


def dockerfile_layout(runtime: Runtime, ref: str, dockerfile: str) -> LayoutProfile:
    """The layout of an image built from the project's own Dockerfile: the project is where
    its WORKDIR is, the environment is whatever `python` on its PATH belongs to."""
    result, _ = runtime.run(
        ref, ["sh", "-c", _PROBE_PYTHON], stage="gold", timeout_sec=120, user="root",
        network=False,
    )
    workdir, prefix, has_pytest = parse_python_probe(result.output)
    if not prefix:
        raise CligymError(f"{dockerfile}: the image it builds has no python on its PATH")
    if not has_pytest:
        raise CligymError(
            f"{dockerfile}: the image's python ({prefix}) cannot import pytest: install the "
            "test requirements in the Dockerfile"
        )
    if workdir == "/":
        raise CligymError(f"{dockerfile}: set WORKDIR to the project's directory")
    return LayoutProfile(
        name="dockerfile",
        app_dir=workdir,
        env_dir=prefix,
        env_kind="venv",
        activation=(f'export PATH="{prefix}/bin:$PATH"',),
    )


def image_source(spec: str, ref: str, image_id: str) -> RepoSource:
    return RepoSource(
        kind=SourceKind.IMAGE,
        spec=spec,
        name=image_name(ref),
        location=ref,
        resolved=image_id,
        content_sha256=image_id.removeprefix("sha256:"),
    )


def image_recipe(profile: LayoutProfile, selection: tuple[str, ...], per_test: int) -> RecipeSpec:
    """Nothing to install: the image's environment is the gold env. The test command is the
    layout's pytest arguments plus any selection (`--tests`, `-k`)."""
    notes = [f"layout {profile.name}: project {profile.app_dir}, {profile.env_kind} env "
             f"{profile.env_dir}; the image's own environment, nothing installed"]
    if per_test:
        notes.append(f"per-test timeout {per_test} s (needs pytest-timeout in the image)")
    return RecipeSpec(
        install_project=False,
        requirements=(),
        pytest_args=(*profile.pytest_args, *selection),
        per_test_timeout_sec=per_test,
        notes=tuple(notes),
    )


def render_image_dockerfile(ref: str, base_tag: str, layout: Layout, name: str) -> str:
    """The gold image: the user's image plus the test user, the activation, the static tools."""
    activation = layout.activation or (f'export PATH="{layout.env_dir}/bin:$PATH"',)
    snippet = " ".join(shlex.quote(line) for line in activation)
    app = shlex.quote(layout.app_dir)
    lines = [
        f"# cligym gold environment for {name} (image:{ref})",
        f"FROM {ref}",
        *(f"COPY --from={base_tag} {tool} {tool}" for tool in STATIC_TOOLS),
        f"RUN (id -u {TEST_USER} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "
        f"{TEST_USER}) && chown -R {TEST_USER}:{TEST_USER} {app} "
        f"&& printf '%s\\n' {snippet} > {PROFILE_SNIPPET}",
        f"WORKDIR {app}",
    ]
    return "\n".join(lines) + "\n"
