"""shipped/mirror.py on the host: the recording proxy stores what an upstream answered, byte
for byte; the server answers from that by Host header; the PEP 503 pages list every file."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from cligym.errors import CligymError
from cligym.shipped import mirror


@contextmanager
def _serving(server: http.server.HTTPServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _upstream(files: dict[str, bytes]) -> http.server.HTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return http.server.HTTPServer(("127.0.0.1", 0), Handler)


def _get(url: str, proxy: str | None = None, host: str | None = None) -> bytes:
    handlers = [urllib.request.ProxyHandler({"http": proxy} if proxy else {})]
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    with urllib.request.build_opener(*handlers).open(request, timeout=10) as answer:
        return bytes(answer.read())


def test_recorded_answers_are_served_back_byte_for_byte(tmp_path: Path):
    files = {
        "/debian/dists/bookworm/InRelease": b"-----BEGIN PGP SIGNED MESSAGE-----\n...",
        "/debian/pool/main/s/sqlite3/libsqlite3-0_3.40.1-2_amd64.deb": bytes(range(256)) * 99,
    }
    root = tmp_path / "root"
    recorder = mirror._Threading(("127.0.0.1", 0), type("R", (mirror._Recorder,), {"root": root}))
    with _serving(_upstream(files)) as up, _serving(recorder) as proxy_port:
        proxy = f"http://127.0.0.1:{proxy_port}"
        for path, data in files.items():
            assert _get(f"http://127.0.0.1:{up}{path}", proxy=proxy) == data
        with pytest.raises(urllib.error.HTTPError) as missing:
            _get(f"http://127.0.0.1:{up}/debian/nothing", proxy=proxy)
        assert missing.value.code == 404
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "127.0.0.1/debian/dists/bookworm/InRelease",
        "127.0.0.1/debian/pool/main/s/sqlite3/libsqlite3-0_3.40.1-2_amd64.deb",
    ]
    # the mirror answers for the name it is asked for, from what was recorded under it
    (root / "127.0.0.1").rename(root / "deb.debian.org")
    server = mirror._Threading(("127.0.0.1", 0), type("S", (mirror._Server,), {"root": root}))
    with _serving(server) as port:
        for path, data in files.items():
            assert _get(f"http://127.0.0.1:{port}{path}", host="deb.debian.org") == data
        for path, host in (("/debian/nothing", "deb.debian.org"),
                           ("/debian/dists/bookworm/InRelease", "other.example"),
                           ("/../../etc/passwd", "deb.debian.org")):
            with pytest.raises(urllib.error.HTTPError) as refused:
                _get(f"http://127.0.0.1:{port}{path}", host=host)
            assert refused.value.code == 404


def test_stored_paths_never_leave_the_root(tmp_path: Path):
    assert mirror.stored_path(tmp_path, "deb.debian.org:80", "/debian/a%20b") == (
        tmp_path / "deb.debian.org" / "debian" / "a b"
    )
    assert mirror.stored_path(tmp_path, "pypi.org", "/simple/") == (
        tmp_path / "pypi.org" / "simple" / "index.html"
    )
    for host, path in (("deb.debian.org", "/a/../../x"), ("../x", "/a"), ("a/b", "/c"),
                       ("deb.debian.org", "/%2e%2e/x")):
        assert mirror.stored_path(tmp_path, host, path) is None


def test_simple_pages_list_every_file_with_its_digest(tmp_path: Path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    names = ["PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.whl",
             "tomli_w-1.2.0-py3-none-any.whl", "python_dateutil-2.9.0.post0-py2.py3-none-any.whl",
             "zope.interface-7.2.tar.gz", "README.txt"]
    for n, name in enumerate(names):
        (wheels / name).write_bytes(f"{n}".encode() * 10)
    root = tmp_path / "root"
    assert mirror.simple(root, wheels) == 4
    pages = sorted(p.name for p in (root / "pypi.org" / "simple").iterdir() if p.is_dir())
    assert pages == ["python-dateutil", "pyyaml", "tomli-w", "zope-interface"]
    page = (root / "pypi.org" / "simple" / "pyyaml" / "index.html").read_text()
    (href,) = re.findall(r'href="([^"]+)"', page)
    digest = hashlib.sha256(b"0" * 10).hexdigest()
    assert href == f"/packages/{names[0]}#sha256={digest}"
    assert (root / "pypi.org" / "packages" / names[0]).read_bytes() == b"0" * 10
    assert '<a href="/simple/tomli-w/">tomli-w</a>' in (
        root / "pypi.org" / "simple" / "index.html"
    ).read_text()


def test_the_mirror_answers_over_tls_for_its_hosts_and_no_other(tmp_path: Path):
    import http.client
    import socket
    import ssl

    from cligym.runtime.mirror_ca import MIRROR_HOSTS, _usable, ensure_mirror_keys

    keys = ensure_mirror_keys(tmp_path / "ca")
    assert _usable(keys) and oct(keys.server_key.stat().st_mode & 0o777) == "0o600"
    assert ensure_mirror_keys(tmp_path / "ca") == keys  # kept, not made again
    assert keys.ca_cert.read_bytes() == ensure_mirror_keys(tmp_path / "ca").ca_cert.read_bytes()
    root = tmp_path / "root"
    (root / "pypi.org" / "simple" / "pyyaml").mkdir(parents=True)
    (root / "pypi.org" / "simple" / "pyyaml" / "index.html").write_text("<a>PyYAML</a>")
    plain, secure = mirror.servers(root, str(keys.server_cert), str(keys.server_key),
                                   "127.0.0.1", (0, 0))
    trusted = ssl.create_default_context(cafile=str(keys.ca_cert))

    def tls(context: ssl.SSLContext, host: str) -> ssl.SSLSocket:
        return context.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                   server_hostname=host)

    with _serving(plain), _serving(secure) as port:
        for host in MIRROR_HOSTS:
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=trusted)
            conn.sock = tls(trusted, host)
            conn.request("GET", "/simple/pyyaml/", headers={"Host": host})
            assert conn.getresponse().status == (200 if host == "pypi.org" else 404), host
            conn.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            tls(trusted, "example.com")
        with pytest.raises(ssl.SSLCertVerificationError):  # a client that does not trust the CA
            tls(ssl.create_default_context(), "pypi.org")


def _wheel(directory: Path, name: str, version: str) -> Path:
    """A minimal valid wheel (what pip reads of one when it downloads it)."""
    import zipfile

    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        for n, data in files.items():
            whl.writestr(n, data)
        whl.writestr(f"{info}/RECORD", record)
    return path


def test_pip_installs_from_the_mirror_index_by_exact_version(tmp_path: Path):
    import subprocess
    import sys

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("1.0", "2.0"):
        _wheel(wheels, "demo_pkg", version)
    root = tmp_path / "root"
    mirror.simple(root, wheels)
    (root / "127.0.0.1").symlink_to(root / "pypi.org")  # the test reaches it by address
    server = mirror._Threading(("127.0.0.1", 0), type("S", (mirror._Server,), {"root": root}))
    with _serving(server) as port:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--isolated", "-q",
             "--index-url", f"http://127.0.0.1:{port}/simple/", "-d", str(tmp_path / "out"),
             "Demo.Pkg==1.0"],
            capture_output=True, text=True, check=False, timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["demo_pkg-1.0-py3-none-any.whl"]


def test_the_task_network_is_the_mirror_or_nothing_or_the_harness_s():
    import dataclasses

    from cligym.package.export.layouts import render_compose, render_harbor, render_tb
    from cligym.package.mirror import freeze_pins
    from cligym.runtime.mirror_ca import MIRROR_HOSTS
    from tests.unit.test_package import _item

    base = _item()
    mirrored = dataclasses.replace(base, network="mirror", mirror_image="cligym-mirror/demo:1")
    compose = render_compose(mirrored)
    assert compose["networks"] == {"default": {"internal": True}}  # no way out
    assert compose["services"]["mirror"]["image"] == "cligym-mirror/demo:1"
    assert compose["services"]["mirror"]["networks"]["default"]["aliases"] == list(MIRROR_HOSTS)
    assert compose["services"]["main"]["depends_on"] == ["mirror"]
    tb = yaml.safe_load(render_tb(mirrored)["docker-compose.yaml"])
    assert tb["networks"] == compose["networks"] and tb["services"]["mirror"]["image"]
    offline = render_compose(dataclasses.replace(base, network="offline"))
    assert offline["services"]["main"]["network_mode"] == "none" and "networks" not in offline
    internet = render_compose(base)
    assert set(internet["services"]) == {"main"}
    # the container starts without the image's own shell (a fault may have broken /bin/sh)
    assert internet["services"]["main"]["command"][0] == "/opt/cligym/bin/bash"
    assert tb["services"]["client"]["command"] == ["sleep", "infinity"]
    assert "network_mode" not in internet["services"]["main"]
    meta = tomllib.loads(render_harbor(mirrored)["task.toml"].decode())["metadata"]
    assert meta["network"] == "mirror"
    with pytest.raises(CligymError, match="no package mirror image"):
        render_compose(dataclasses.replace(base, network="mirror"))
    assert freeze_pins(("-e /app", "# Editable install", "PyYAML==6.0.2", "x @ file:///a",
                        "pytest==8.3.3", "PyYAML==6.0.2")) == ("PyYAML==6.0.2", "pytest==8.3.3")


def test_each_base_image_has_its_own_mirror_base():
    """A trixie gold env's mirror holds trixie's packages: the mirror base follows the base
    image the gold env was built FROM (the default's tag is unchanged)."""
    from cligym.package.mirror import MIRROR_BASE_TAG, mirror_base_tag, render_gold_dockerfile

    assert mirror_base_tag("cligym-base:bookworm") == MIRROR_BASE_TAG == "cligym-mirror:bookworm"
    assert mirror_base_tag("cligym-base:trixie") == "cligym-mirror:trixie"
    assert "FROM cligym-mirror:trixie\n" in render_gold_dockerfile("cligym-mirror:trixie")
    assert f"FROM {MIRROR_BASE_TAG}\n" in render_gold_dockerfile()
