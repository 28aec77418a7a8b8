"""Forward the host's pip configuration and CA bundle into images.

pip inside a container should work wherever it works on the host: behind a TLS-intercepting proxy
(custom CA), against a private index, with a longer timeout. We read what the host's pip itself
reports (`pip config list`, which merges files and PIP_* variables), keep only settings that make
sense inside a container (http(s) indexes, not local paths) and render a pip.conf. Nothing is
hard-coded for one machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

_FORWARDED_KEYS = {
    "index-url",
    "extra-index-url",
    "trusted-host",
    "timeout",
    "default-timeout",
    "retries",
    "proxy",
}
_LINE = re.compile(r"^(?P<scope>[\w:.-]*)\.(?P<key>[\w-]+)='(?P<value>.*)'$")
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
CONTAINER_CA_PATH = "/usr/local/share/ca-certificates/cligym-host-ca.crt"


@dataclass(frozen=True)
class PipForwarding:
    """What is forwarded: pip options, the CA bundle file, proxy variables."""

    options: tuple[tuple[str, str], ...] = ()
    ca_bundle: Path | None = None
    proxies: tuple[tuple[str, str], ...] = ()
    dropped: tuple[str, ...] = field(default=())

    def render_pip_conf(self, container_ca_bundle: str) -> str:
        """pip.conf for /etc/pip.conf inside images."""
        lines = ["[global]"]
        lines += [f"{key} = {value}" for key, value in self.options]
        if self.ca_bundle is not None:
            lines.append(f"cert = {container_ca_bundle}")
        return "\n".join(lines) + "\n"

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.options]
        if self.ca_bundle:
            parts.append(f"CA bundle {self.ca_bundle}")
        if self.proxies:
            parts.append("proxy variables " + ",".join(k for k, _ in self.proxies))
        return "; ".join(parts) if parts else "nothing to forward (pip defaults)"


def parse_pip_config_list(text: str) -> dict[str, str]:
    """Parse `pip config list` lines (`scope.key='value'`); later lines win, like pip itself."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        match = _LINE.match(raw.strip())
        if match:
            values[match["key"]] = match["value"]
    return values


def plan_forwarding(config: dict[str, str], environ: dict[str, str]) -> PipForwarding:
    """Pure: choose which host settings to forward into containers."""
    options: list[tuple[str, str]] = []
    dropped: list[str] = []
    for key in sorted(config):
        value = config[key]
        if key not in _FORWARDED_KEYS:
            if key not in {"cert", "disable-pip-version-check"}:
                dropped.append(key)
            continue
        if key.endswith("index-url"):
            urls = [u for u in value.split() if u.startswith(("http://", "https://"))]
            if len(urls) != len(value.split()):
                dropped.append(f"{key} (local paths)")
            if not urls:
                continue
            value = " ".join(urls)
        if key == "default-timeout":
            key = "timeout"
        options.append((key, value))
    ca: Path | None = None
    for candidate in (
        config.get("cert"),
        environ.get("PIP_CERT"),
        environ.get("SSL_CERT_FILE"),
        environ.get("REQUESTS_CA_BUNDLE"),
    ):
        if candidate and Path(candidate).is_file():
            ca = Path(candidate)
            break
    proxies = tuple((k, environ[k]) for k in _PROXY_VARS if environ.get(k))
    return PipForwarding(tuple(options), ca, proxies, tuple(dropped))


@cache
def detect_forwarding() -> PipForwarding:
    """Ask the host's pip what it is configured with (cached per process)."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return plan_forwarding(parse_pip_config_list(out), dict(os.environ))
