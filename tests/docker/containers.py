"""The suite's own labelled containers: not those of another cligym process that runs beside
it (a corpus run on the same Docker Engine), so the orphan checks judge only the suite."""

from __future__ import annotations

import os
from pathlib import Path

from cligym.ids import run_id_pid
from cligym.runtime.docker import LABEL, LABEL_RUN, DockerRuntime


def suite_containers(runtime: DockerRuntime) -> set[str]:
    """Ids of labelled containers (running or not) that this process or its children made,
    or whose maker is gone (a killed run's orphans are the suite's to answer for)."""
    out = set()
    # one listing call (`containers.list` inspects each container after listing, and one
    # removed in between raises NotFound)
    for c in runtime.client.api.containers(all=True, filters={"label": LABEL}):
        pid = run_id_pid((c.get("Labels") or {}).get(LABEL_RUN, ""))
        if pid is None or not _alive(pid) or _descends_from(pid, os.getpid()):
            out.add(str(c["Id"]))
    return out


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state: ppid
    return False
