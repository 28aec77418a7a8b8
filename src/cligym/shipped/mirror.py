"""The package mirror of a task's network: records what apt fetched, and serves it back.

Copied into containers and run with their own python3 (standard library only).

    mirror.py record ROOT PORT     an HTTP proxy on 127.0.0.1:PORT that fetches each request
                                   upstream and stores the answer as ROOT/<host>/<path>
    mirror.py serve ROOT CERT KEY  answer http://<host>/<path> (port 80) and https (port 443)
                                   from ROOT/<host>/<path>, by the request's Host header
    mirror.py simple ROOT WHEELS   PEP 503 pages for the files in WHEELS, as pypi.org serves
                                   them (files under /packages/ of the same host)

apt speaks plain HTTP to deb.debian.org, so recording `apt-get update` and `apt-get download`
through the proxy keeps Debian's own signed indexes byte for byte: a mirror that answers for
deb.debian.org from them is checked by apt against Debian's keyring like the real one. pip
speaks HTTPS; its index is written from the downloaded files instead (`simple`), and the
mirror's certificate for pypi.org is signed by a CA the gold image trusts.
"""

from __future__ import annotations

import hashlib
import html
import http.server
import os
import re
import shutil
import socketserver
import ssl
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

CHUNK = 1 << 20
PYPI_HOST = "pypi.org"


def stored_path(root: Path, host: str, path: str) -> Path | None:
    """ROOT/<host>/<path>, or None for a path that would leave ROOT."""
    host = host.split(":", 1)[0].lower()
    clean = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if not re.fullmatch(r"[a-z0-9.-]+", host) or ".." in parts:
        return None
    target = root.joinpath(host, *parts)
    if clean.endswith("/") or not parts:
        target = target / "index.html"
    return target


class _Threading(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Recorder(http.server.BaseHTTPRequestHandler):
    root = Path(".")

    def do_GET(self) -> None:
        url = self.path
        if not url.startswith("http://"):
            self.send_error(400, "a proxy request needs an absolute http:// URL")
            return
        host = urllib.parse.urlsplit(url).netloc
        target = stored_path(self.root, host, url)
        if target is None:
            self.send_error(403)
            return
        try:
            with urllib.request.urlopen(url, timeout=120) as answer:
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_name(target.name + ".part")
                with part.open("wb") as out:
                    shutil.copyfileobj(answer, out, CHUNK)
                part.replace(target)
        except urllib.error.HTTPError as err:
            self.send_error(err.code)
            return
        except OSError as err:
            self.send_error(502, str(err)[:200])
            return
        self._send_file(target)

    def do_HEAD(self) -> None:
        self.send_error(405)

    def _send_file(self, target: Path) -> None:
        self.send_response(200)
        self._headers(target)
        self.end_headers()
        with target.open("rb") as data:
            shutil.copyfileobj(data, self.wfile, CHUNK)

    def _headers(self, target: Path) -> None:
        # pip reads an index page only when it says it is HTML
        kind = "text/html" if target.name == "index.html" else "application/octet-stream"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(target.stat().st_size))

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(_Recorder):
    """Answers from ROOT only; anything it does not hold is a 404, as on a partial mirror."""

    def do_GET(self) -> None:
        target = self._held()
        if target is not None:
            self._send_file(target)

    def do_HEAD(self) -> None:
        target = self._held()
        if target is not None:
            self.send_response(200)
            self._headers(target)
            self.end_headers()

    def _held(self) -> Path | None:
        """The stored answer for this request's host and path (a 404 sent when none)."""
        target = stored_path(self.root, self.headers.get("Host", ""), self.path)
        if target is None or not target.is_file():
            self.send_error(404)
            return None
        return target


def record(root: Path, port: int) -> None:
    handler = type("Recorder", (_Recorder,), {"root": root})
    _Threading(("127.0.0.1", port), handler).serve_forever()


def servers(
    root: Path, cert: str, key: str, address: str = "0.0.0.0", ports: tuple[int, int] = (80, 443)
) -> tuple[http.server.HTTPServer, http.server.HTTPServer]:
    """The plain and the TLS server over ROOT (not yet serving)."""
    handler = type("Server", (_Server,), {"root": root})
    plain = _Threading((address, ports[0]), handler)
    secure = _Threading((address, ports[1]), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    return plain, secure


def serve(root: Path, cert: str, key: str) -> None:
    plain, secure = servers(root, cert, key)
    threading.Thread(target=secure.serve_forever, daemon=True).start()
    plain.serve_forever()


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(filename: str) -> str | None:
    """The project a wheel or sdist file belongs to (PEP 427 / PEP 625 names)."""
    if filename.endswith(".whl"):
        return filename.split("-", 1)[0]
    match = re.match(r"^(.+?)-\d[^-]*\.(tar\.gz|zip|tar\.bz2)$", filename)
    return match.group(1) if match else None


def simple(root: Path, wheels: Path) -> int:
    """Write PEP 503 pages for every file in WHEELS and put the files where the pages link."""
    projects: dict[str, list[tuple[str, str]]] = {}
    files_dir = root / PYPI_HOST / "packages"
    files_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(wheels.iterdir()):
        project = _project_of(path.name)
        if project is None or not path.is_file():
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        shutil.copyfile(path, files_dir / path.name)
        projects.setdefault(_normalize(project), []).append((path.name, digest))
    index = root / PYPI_HOST / "simple"
    index.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, files in sorted(projects.items()):
        links = "\n".join(
            f'<a href="/packages/{html.escape(f)}#sha256={d}">'
            f"{html.escape(f)}</a><br/>"
            for f, d in files
        )
        page = index / name
        page.mkdir(exist_ok=True)
        (page / "index.html").write_text(
            f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n"
        )
        rows.append(f'<a href="/simple/{name}/">{name}</a><br/>')
    (index / "index.html").write_text(
        "<!DOCTYPE html>\n<html><body>\n" + "\n".join(rows) + "\n</body></html>\n"
    )
    return sum(len(f) for f in projects.values())


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[1] == "record":
        record(Path(argv[2]), int(argv[3]))
        return 0
    if len(argv) == 5 and argv[1] == "serve":
        serve(Path(argv[2]), argv[3], argv[4])
        return 0
    if len(argv) == 4 and argv[1] == "simple":
        print(simple(Path(argv[2]), Path(argv[3])))
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main(sys.argv))
