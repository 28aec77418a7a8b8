"""Render a recipe as the gold Dockerfile (pure functions)."""

from __future__ import annotations

import shlex

from cligym.records import RecipeSpec, RepoSource
from cligym.testbed.layout import APP_DIR, PROFILE_SNIPPET, TEST_USER, VENV


def _q(value: str) -> str:
    return shlex.quote(value)


def render_pip_install(recipe: RecipeSpec) -> str:
    """The `pip install` command line of the recipe."""
    args = ["pip", "install", "--no-cache-dir"]
    if recipe.install_project and recipe.project_release:
        name, _, version = recipe.project_release.partition("==")
        extras = f"[{','.join(recipe.extras)}]" if recipe.extras else ""
        args += ["--only-binary", name, f"{name}{extras}=={version}"]
    elif recipe.install_project:
        target = "." + (f"[{','.join(recipe.extras)}]" if recipe.extras else "")
        args += ["--editable", target]
    for req_file in recipe.requirement_files:
        args += ["--requirement", req_file]
    args += list(recipe.requirements)
    return " ".join(_q(a) for a in args)


def render_gold_dockerfile(base_image: str, recipe: RecipeSpec, source: RepoSource) -> str:
    """The gold image as a Dockerfile whose build context holds the repo under `app/`."""
    lines = [
        f"# cligym gold environment for {source.name} ({source.spec})",
        f"# source sha256 {source.content_sha256}",
        f"FROM {base_image}",
    ]
    if recipe.apt_packages:
        packages = " ".join(_q(p) for p in recipe.apt_packages)
        lines.append(
            "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
            f"--no-install-recommends {packages} && rm -rf /var/lib/apt/lists/* /var/log/apt/* "
            "/var/log/dpkg.log"
        )
    lines += [
        f"RUN python3 -m venv {VENV}",
        f"ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:$PATH",
        f"COPY app/ {APP_DIR}/",
        f"WORKDIR {APP_DIR}",
    ]
    build_env = " ".join(f"{k}={_q(v)}" for k, v in recipe.env)
    install = render_pip_install(recipe)
    lines.append(f"RUN {build_env + ' ' if build_env else ''}{install}")
    lines.append(
        f"RUN useradd --create-home --shell /bin/bash {TEST_USER} "
        f"&& chown -R {TEST_USER}:{TEST_USER} {APP_DIR} "
        f"&& printf '%s\\n' 'export VIRTUAL_ENV={VENV}' 'export PATH=\"{VENV}/bin:$PATH\"' "
        f"> {PROFILE_SNIPPET}"
    )
    if recipe.env:
        lines.append("ENV " + " ".join(f"{k}={_q(v)}" for k, v in recipe.env))
    return "\n".join(lines) + "\n"
