"""Render a recipe as the gold Dockerfile and the in-container test command (pure functions)."""

from __future__ import annotations

import shlex

from cligym.records import RecipeSpec, RepoSource

VENV = "/opt/venv"
APP_DIR = "/app"
TEST_USER = "tester"
# Results go where no fault reaches (not /tmp, $HOME or /app); root creates the directory for
# the test user before each run (render_as_tester).
RESULTS_DIR = "/run/cligym-results"
JUNIT_PATH = f"{RESULTS_DIR}/junit.xml"
GOLD_PYTHON = f"{VENV}/bin/python"
# Tests run in a login shell of TEST_USER (`bash -lc`), so /etc/profile, /etc/profile.d/*.sh and
# ~/.profile apply, as for a person logging in; this snippet puts the venv on that PATH.
PROFILE_SNIPPET = "/etc/profile.d/00-cligym-venv.sh"


def _q(value: str) -> str:
    return shlex.quote(value)


def render_pip_install(recipe: RecipeSpec) -> str:
    """The `pip install` command line of the recipe."""
    args = ["pip", "install", "--no-cache-dir"]
    if recipe.install_project:
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


REPORTING_ARGS = (
    "-p",
    "no:cacheprovider",
    "-o",
    "junit_family=xunit1",
    f"--junitxml={JUNIT_PATH}",
    "--continue-on-collection-errors",
    "-q",
    "-rN",
)
"""Appended to the documented command: where the report goes and how much is printed. They
change no test's outcome (xunit1 keeps file paths, so node ids can be rebuilt exactly)."""


def render_user_command(recipe: RecipeSpec) -> str:
    """The test command as a user would type it (the issue text quotes it): `python` is
    whatever the test user's login shell finds on PATH."""
    return " ".join(["cd", APP_DIR, "&&", "python", "-m", "pytest", *map(_q, recipe.pytest_args)])


def render_test_script(
    recipe: RecipeSpec, with_metadata: bool, extra_args: tuple[str, ...] = ()
) -> str:
    """Run in the test user's login shell: optional metadata, then exactly the documented
    command plus the reporting options (the runtime bounds it)."""
    parts = []
    if with_metadata:
        parts += [
            "python -c 'import platform; print(platform.python_version())' "
            f"> {RESULTS_DIR}/python.txt",
            f"pip freeze --all > {RESULTS_DIR}/freeze.txt 2>/dev/null",
        ]
    args = " ".join(_q(a) for a in (*REPORTING_ARGS, *extra_args))
    parts.append(f"{render_user_command(recipe)} {args}")
    return "; ".join(parts)


def render_as_tester(script: str) -> str:
    """Root's side of every test run (gold, probe, attempts, verification, the verifier):
    a fresh results directory for the test user, then the script as that user in a login
    shell, exactly as `runuser -u tester -- bash -lc '...'` in the issue text."""
    return (
        f"rm -rf {RESULTS_DIR} && mkdir -p {RESULTS_DIR} && "
        f"chown {TEST_USER}:{TEST_USER} {RESULTS_DIR} && cd {APP_DIR} && "
        f"exec env HOME=/home/{TEST_USER} /usr/sbin/runuser -u {TEST_USER} -- "
        f"bash -lc {_q(script)}"
    )


def render_test_command(script: str) -> list[str]:
    """argv of a test container started as root: the script as the test user's login shell
    (profile files apply)."""
    return ["bash", "-c", render_as_tester(script)]
