"""Real servers the registry tests start and stop: Debian's `docker-registry` (distribution)
on a free port, and a second Docker daemon with an empty image store (a node that has never
seen cligym's images)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import docker

_START_TIMEOUT_SEC = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_registry() -> Iterator[str]:
    """An image registry on 127.0.0.1 (Docker pushes to 127.0.0.0/8 over plain HTTP); yields
    HOST:PORT."""
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is missing: `./dev test` installs it (apt docker-registry)"
    root = Path(tempfile.mkdtemp(prefix="cligym-registry-"))
    address = f"127.0.0.1:{free_port()}"
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: {address}\n"
    )
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        _wait(lambda: _http_ok(f"http://{address}/v2/"), proc, root / "registry.log")
        yield address
    finally:
        _stop(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


# The second daemon's own bridge and address pool. Never `--bridge none`: a daemon started so
# deletes the host's docker0, which the first daemon's containers need.
_BRIDGE = "cligym-d2"
_BRIDGE_ADDR = "10.213.255.1/24"
_POOL = "base=10.213.0.0/17,size=24"


@contextmanager
def clean_daemon() -> Iterator[str]:
    """A second Docker Engine with its own, empty image store, its own bridge, and no way out
    (no iptables rules, no masquerading); yields its DOCKER_HOST."""
    root = Path(tempfile.mkdtemp(prefix="cligym-d2-"))
    sock = root / "docker.sock"
    had_docker0 = Path("/sys/class/net/docker0").exists()
    subprocess.run(["ip", "link", "del", _BRIDGE], check=False, capture_output=True)  # a crash's
    _ip("link", "add", "name", _BRIDGE, "type", "bridge")
    log = (root / "dockerd.log").open("wb")
    try:
        _ip("addr", "add", _BRIDGE_ADDR, "dev", _BRIDGE)
        _ip("link", "set", _BRIDGE, "up")
        proc = subprocess.Popen(
            [
                "dockerd", "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
                "--pidfile", str(root / "dockerd.pid"), "-H", f"unix://{sock}",
                "--bridge", _BRIDGE, "--default-address-pool", _POOL,
                "--iptables=false", "--ip6tables=false", "--ip-masq=false",
            ],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        host = f"unix://{sock}"
        try:
            _wait(lambda: _daemon_up(host), proc, root / "dockerd.log")
            yield host
        finally:
            _stop(proc)
    finally:
        log.close()
        for line in Path("/proc/mounts").read_text().splitlines():
            point = line.split()[1]
            if point.startswith(str(root)):
                subprocess.run(["umount", "-l", point], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["ip", "link", "del", _BRIDGE], check=False, capture_output=True)
    assert Path("/sys/class/net/docker0").exists() or not had_docker0, "docker0 was deleted"


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], check=False, capture_output=True, text=True)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr.strip()}"


def _http_ok(url: str) -> bool:
    with suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
        return bool(answer.status == 200)
    return False


def _daemon_up(host: str) -> bool:
    with suppress(Exception):
        client = docker.DockerClient(base_url=host, timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    return False


def _wait(ready, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_SEC
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise AssertionError(f"{proc.args[0]} did not start: {tail}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """The server first (dockerd stops its containerd itself), then anything left in its group."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
