"""The package mirror of a task's network: the gold env's Debian packages and wheels, served
under the names apt and pip use, so that a task is repairable with no way out.

Two images. `cligym-mirror:bookworm` (FROM the base image, built once per base) holds the
server (shipped/mirror.py), its certificate for the mirror hosts, and every Debian package the
base image has installed, recorded through a proxy from `apt-get update` and `apt-get download`:
Debian's own signed indexes, byte for byte, so apt checks them with Debian's keyring as it
would the real archive. `cligym-mirror/<gold>:<gold id>` adds, per gold env, the packages the
gold image installed beyond the base and a wheel for every distribution in its freeze plus its
build requirements, under PEP 503 pages. The mirror serves everything installed, not what a
fault removed: it tells an agent nothing.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cligym.errors import CligymError
from cligym.ids import content_id
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import GoldEnv
from cligym.runtime.hostpip import detect_forwarding
from cligym.runtime.mirror_ca import MIRROR_HOSTS, ensure_mirror_keys
from cligym.runtime.protocol import Runtime

MIRROR_BASE_TAG = "cligym-mirror:bookworm"
MIRROR_ROOT = "/srv/mirror"
SERVER_DIR = "/srv/cligym-mirror"
RECORD_PORT = 3142
LABEL_MIRROR_HASH = "cligym.mirror.hash"
BUILD_TIMEOUT_SEC = 3600
# pip resolves build requirements too: a gold whose project declares none builds with these
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0", "wheel")
_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[^\s;@]+$")

# apt goes through the recording proxy; its answers land under MIRROR_ROOT/<host>/<path>
_RECORD = (
    f"python3 {SERVER_DIR}/mirror.py record {MIRROR_ROOT} {RECORD_PORT} & rec=$!; "
    "for i in $(seq 100); do "
    f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {RECORD_PORT}), 1)' "
    "2>/dev/null && break; sleep 0.1; done; "
    f"P='-o Acquire::http::Proxy=http://127.0.0.1:{RECORD_PORT}/ -o Acquire::Retries=3'"
)
# all at once; if that fails, each package alone: one whose version left the archive is
# listed, not fatal
_DOWNLOAD_DEBS = (
    "cd /tmp && { xargs apt-get $P download -qq < /tmp/debs.txt >/dev/null 2>&1 "
    "|| while read -r p; do "
    f'apt-get $P download -qq "$p" >/dev/null 2>&1 || echo "$p" >> {MIRROR_ROOT}/missing-debs.txt; '
    "done < /tmp/debs.txt; } && rm -f /tmp/*.deb"
)
_SERVE = (
    f'CMD ["python3", "{SERVER_DIR}/mirror.py", "serve", "{MIRROR_ROOT}", '
    f'"{SERVER_DIR}/server.crt", "{SERVER_DIR}/server.key"]'
)

_BASE_DOCKERFILE = f"""\
# cligym package mirror: the server, its certificate, and the base image's Debian packages
FROM @BASE@
COPY mirror.py server.crt server.key {SERVER_DIR}/
RUN set -e; chmod 600 {SERVER_DIR}/server.key; mkdir -p {MIRROR_ROOT}; {_RECORD}; \\
    apt-get $P update -qq; \\
    dpkg-query -W -f '${{binary:Package}}=${{Version}}\\n' > /tmp/debs.txt; \\
    {_DOWNLOAD_DEBS}; \\
    kill $rec; rm -rf /var/lib/apt/lists/* /tmp/debs.txt
EXPOSE 80 443
{_SERVE}
"""

_GOLD_DOCKERFILE = f"""\
# cligym package mirror of one gold env: its packages beyond the base, and its wheels
FROM @MIRROR_BASE@
COPY wanted/ /tmp/wanted/
RUN set -e; {_RECORD}; \\
    dpkg-query -W -f '${{binary:Package}}=${{Version}}\\n' > /tmp/base-debs.txt; \\
    grep -vxFf /tmp/base-debs.txt /tmp/wanted/debs.txt > /tmp/debs.txt || true; \\
    if [ -s /tmp/debs.txt ]; then apt-get $P update -qq; {_DOWNLOAD_DEBS}; fi; \\
    kill $rec; \\
    python3 -m pip download -q --no-deps -d /tmp/wheels -r /tmp/wanted/freeze.txt \\
      || while read -r r; do python3 -m pip download -q --no-deps -d /tmp/wheels "$r" \\
           || echo "$r" >> {MIRROR_ROOT}/missing-wheels.txt; done < /tmp/wanted/freeze.txt; \\
    python3 -m pip download -q -d /tmp/wheels -r /tmp/wanted/build.txt \\
      || echo "build requirements" >> {MIRROR_ROOT}/missing-wheels.txt; \\
    python3 {SERVER_DIR}/mirror.py simple {MIRROR_ROOT} /tmp/wheels; \\
    rm -rf /var/lib/apt/lists/* /tmp/wheels /tmp/wanted /tmp/debs.txt /tmp/base-debs.txt
"""


class MirrorError(CligymError):
    """The package mirror cannot be built."""


@dataclass(frozen=True)
class Wanted:
    """What one gold env's mirror must hold beyond the base."""

    debs: tuple[str, ...]  # PACKAGE=VERSION, as dpkg lists the gold image
    pins: tuple[str, ...]  # NAME==VERSION of the freeze (the project itself is not one)
    build: tuple[str, ...]  # the project's build requirements


def mirror_tag(gold: GoldEnv) -> str:
    """Beside its gold image: cligym-gold/NAME:ID -> cligym-mirror/NAME:ID."""
    return gold.image_tag.replace("cligym-gold/", "cligym-mirror/", 1)


def freeze_pins(freeze: tuple[str, ...]) -> tuple[str, ...]:
    """Pure: the `name==version` lines of a pip freeze (editables, URLs, comments dropped)."""
    return tuple(sorted({line.strip() for line in freeze if _PIN.match(line.strip())}))


def render_gold_dockerfile(mirror_base: str = MIRROR_BASE_TAG) -> str:
    return _GOLD_DOCKERFILE.replace("@MIRROR_BASE@", mirror_base, 1)


def mirror_base_tag(base_tag: str) -> str:
    """The mirror base of a base image, one per Debian release: cligym-base:trixie ->
    cligym-mirror:trixie (the default base's is MIRROR_BASE_TAG)."""
    release = base_tag.rpartition(":")[2] if ":" in base_tag else "latest"
    return f"{MIRROR_BASE_TAG.partition(':')[0]}:{release}"


def render_base_dockerfile(base_tag: str) -> str:
    return _BASE_DOCKERFILE.replace("@BASE@", base_tag, 1)


_WANTED_SCRIPT = (
    "dpkg-query -W -f '${binary:Package}=${Version}\\n'; echo '--- build'; "
    "python3 - <<'EOF'\n"
    "import tomllib\n"
    "try:\n"
    "    with open('/app/pyproject.toml', 'rb') as f:\n"
    "        req = tomllib.load(f).get('build-system', {}).get('requires')\n"
    "except OSError:\n"
    "    req = None\n"
    f"print('\\n'.join(req if req is not None else {list(DEFAULT_BUILD_REQUIRES)!r}))\n"
    "EOF"
)


def wanted_of(runtime: Runtime, gold: GoldEnv) -> Wanted:
    """The gold image's Debian packages and build requirements (one short container)."""
    result, _ = runtime.run(
        gold.image_tag, ["sh", "-c", _WANTED_SCRIPT], stage="mirror", timeout_sec=120,
        user="root", network=False,
    )
    if not result.ok or "--- build" not in result.output:
        raise MirrorError(f"cannot list the packages of {gold.image_tag}: {result.output[-300:]}")
    debs, _, build = result.output.partition("--- build")
    return Wanted(
        debs=tuple(line.strip() for line in debs.splitlines() if "=" in line),
        pins=freeze_pins(gold.pip_freeze),
        build=tuple(line.strip() for line in build.splitlines() if line.strip()),
    )


def ensure_mirror_base(
    runtime: Runtime, base_tag: str, reporter: Reporter = NULL_REPORTER
) -> str:
    """`cligym-mirror:RELEASE` for this base image (built once; labelled with its inputs)."""
    tag = mirror_base_tag(base_tag)
    keys = ensure_mirror_keys()
    server = resources.files("cligym.shipped").joinpath("mirror.py").read_bytes()
    base_id = runtime.image_id(base_tag)
    if base_id is None:
        raise MirrorError(f"base image {base_tag} is missing: run `cligym base`")
    dockerfile = render_base_dockerfile(base_tag)
    wanted_hash = content_id(
        "mirror-base", base_id, dockerfile, server.decode(), keys.server_cert.read_text()
    )
    if runtime.image_labels(tag).get(LABEL_MIRROR_HASH) == wanted_hash:
        return tag
    reporter.stage("mirror", f"recording the base image's Debian packages into {tag}")
    with tempfile.TemporaryDirectory(prefix="cligym-mirror-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(dockerfile)
        (ctx / "mirror.py").write_bytes(server)
        (ctx / "server.crt").write_bytes(keys.server_cert.read_bytes())
        (ctx / "server.key").write_bytes(keys.server_key.read_bytes())
        runtime.build(
            ctx, tag, kind="mirror", labels={LABEL_MIRROR_HASH: wanted_hash},
            buildargs=dict(detect_forwarding().proxies), timeout_sec=BUILD_TIMEOUT_SEC,
        )
    return tag


def ensure_gold_mirror(runtime: Runtime, gold: GoldEnv, reporter: Reporter = NULL_REPORTER) -> str:
    """The mirror image of one gold env (built once; its tag names the gold id), on the
    mirror base of the base image the gold env was built from."""
    mirror_base = ensure_mirror_base(runtime, gold.base_image, reporter)
    tag = mirror_tag(gold)
    base_id = runtime.image_id(mirror_base) or ""
    dockerfile = render_gold_dockerfile(mirror_base)
    wanted_hash = content_id("mirror-gold", base_id, gold.id, dockerfile)
    if runtime.image_labels(tag).get(LABEL_MIRROR_HASH) == wanted_hash:
        return tag
    wanted = wanted_of(runtime, gold)
    reporter.stage("mirror", f"{gold.name}: {len(wanted.pins)} wheels into {tag}")
    with tempfile.TemporaryDirectory(prefix="cligym-mirror-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(dockerfile)
        (ctx / "wanted").mkdir()
        (ctx / "wanted" / "debs.txt").write_text("".join(f"{d}\n" for d in wanted.debs))
        (ctx / "wanted" / "freeze.txt").write_text("".join(f"{p}\n" for p in wanted.pins))
        (ctx / "wanted" / "build.txt").write_text("".join(f"{b}\n" for b in wanted.build))
        runtime.build(
            ctx, tag, kind="mirror", labels={LABEL_MIRROR_HASH: wanted_hash},
            buildargs=dict(detect_forwarding().proxies), timeout_sec=BUILD_TIMEOUT_SEC,
        )
    return tag


def mirror_service(image: str) -> dict[str, object]:
    """The compose service of the mirror: the package hosts' names on the task's network."""
    return {
        "image": image,
        "init": True,
        "networks": {"default": {"aliases": list(MIRROR_HOSTS)}},
    }
