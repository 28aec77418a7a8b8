"""The base image every gold image starts FROM, one per Debian release.

Where registry pulls work (a laptop) it is `python:3.12-slim-bookworm` (trixie:
`python:3.13-slim-trixie`); where they do not, a Debian root filesystem of that release made
with `debootstrap --variant=minbase` and `docker import`. On top of either we add the tools gold
builds need and the host's forwarded pip configuration and CA bundle. The result is cached by
tag and a label holding the hash of everything that went into it. Bookworm is the default;
trixie (Python 3.13) serves projects that need a newer Python (`cligym gold --python 3.13`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cligym.errors import BaseImageError
from cligym.ids import content_id
from cligym.progress import NULL_REPORTER, Reporter
from cligym.runtime.hostpip import CONTAINER_CA_PATH, PipForwarding, detect_forwarding
from cligym.runtime.mirror_ca import ensure_mirror_keys
from cligym.runtime.protocol import Runtime

log = logging.getLogger(__name__)

RELEASES = ("bookworm", "trixie")  # the first is the default base
UPSTREAM_IMAGES = {"bookworm": "python:3.12-slim-bookworm", "trixie": "python:3.13-slim-trixie"}
UPSTREAM_IMAGE = UPSTREAM_IMAGES[RELEASES[0]]
ROOTFS_IMAGE = "cligym-rootfs:bookworm"
LABEL_BASE_HASH = "cligym.base.hash"
LABEL_BASE_FROM = "cligym.base.from"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

BASE_PACKAGES = (
    "ca-certificates",
    "git",
    "build-essential",
    "pkg-config",
    "tzdata",
    "procps",
    "tar",
    "gzip",
    "xz-utils",
    "bzip2",
    "unzip",
    "file",
    "less",
    "tmux",
    # static binaries that exported verifiers carry as their trusted toolbox
    "busybox-static",
    "bash-static",
)

_DOCKERFILE = """\
# cligym base image: tools for gold builds plus the host's forwarded pip settings
FROM {from_image}
ARG DEBIAN_FRONTEND=noninteractive
ENV LANG=C.UTF-8
RUN apt-get update \\
 && apt-get install -y --no-install-recommends {packages} \\
 && if ! command -v python3 >/dev/null; then \\
      apt-get install -y --no-install-recommends python3 python3-venv python3-dev python3-pip; \\
    fi \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt/* /var/log/dpkg.log
COPY forwarded/ /tmp/cligym-forwarded/
RUN if [ -f /tmp/cligym-forwarded/host-ca.crt ]; then \\
      cp /tmp/cligym-forwarded/host-ca.crt {container_ca}; \\
    fi \\
 && cp /tmp/cligym-forwarded/mirror-ca.crt {mirror_ca} \\
 && update-ca-certificates >/dev/null \\
 && cp /tmp/cligym-forwarded/pip.conf /etc/pip.conf \\
 && rm -rf /tmp/cligym-forwarded
"""
# The package mirror of a task's network is signed by this CA (runtime/mirror_ca.py)
MIRROR_CA_PATH = "/usr/local/share/ca-certificates/cligym-mirror-ca.crt"


@dataclass(frozen=True)
class BaseImageResult:
    tag: str
    image_id: str
    from_image: str
    built: bool


def render_base_dockerfile(from_image: str) -> str:
    return _DOCKERFILE.format(
        from_image=from_image,
        packages=" ".join(BASE_PACKAGES),
        container_ca=CONTAINER_CA_PATH,
        mirror_ca=MIRROR_CA_PATH,
    )


def _ca_digest(forwarding: PipForwarding) -> str | None:
    if forwarding.ca_bundle is None:
        return None
    return hashlib.sha256(forwarding.ca_bundle.read_bytes()).hexdigest()


def base_tag_for(default_tag: str, release: str) -> str:
    """The base image of `release`: the configured tag for the default release, the same
    repository tagged with the release for another (cligym-base:trixie)."""
    if release == RELEASES[0]:
        return default_tag
    return f"{default_tag.rpartition(':')[0] or default_tag}:{release}"


def ensure_base_image(
    runtime: Runtime,
    tag: str,
    *,
    release: str = RELEASES[0],
    rebuild: bool = False,
    reporter: Reporter = NULL_REPORTER,
) -> BaseImageResult:
    """Return the cached base image, building it (pull or debootstrap, then tools) if needed."""
    if release not in RELEASES:
        raise BaseImageError(f"unknown Debian release {release!r}: one of {', '.join(RELEASES)}")
    forwarding = detect_forwarding()
    mirror_ca = ensure_mirror_keys().ca_pem()
    upstream = UPSTREAM_IMAGES[release]
    if release == RELEASES[0]:
        upstream = os.environ.get("CLIGYM_UPSTREAM_IMAGE", upstream)
    existing = runtime.image_labels(tag)
    if existing and not rebuild:
        from_image = existing.get(LABEL_BASE_FROM, "")
        from_id = runtime.image_id(from_image) if from_image else None
        if from_id:
            expected = _base_hash(from_id, from_image, forwarding, mirror_ca)
            if existing.get(LABEL_BASE_HASH) == expected:
                return BaseImageResult(tag, runtime.image_id(tag) or "", from_image, built=False)
    from_image = _ensure_from_image(runtime, upstream, release, reporter)
    from_id = runtime.image_id(from_image) or ""
    reporter.stage("base", f"building {tag} from {from_image}")
    with tempfile.TemporaryDirectory(prefix="cligym-base-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(render_base_dockerfile(from_image))
        forwarded = ctx / "forwarded"
        forwarded.mkdir()
        (forwarded / "pip.conf").write_text(forwarding.render_pip_conf(SYSTEM_CA_BUNDLE))
        if forwarding.ca_bundle is not None:
            shutil.copyfile(forwarding.ca_bundle, forwarded / "host-ca.crt")
        (forwarded / "mirror-ca.crt").write_bytes(mirror_ca)
        image_id = runtime.build(
            ctx,
            tag,
            kind="base",
            labels={
                LABEL_BASE_FROM: from_image,
                LABEL_BASE_HASH: _base_hash(from_id, from_image, forwarding, mirror_ca),
            },
            buildargs=dict(forwarding.proxies),
            timeout_sec=1800,
        )
    return BaseImageResult(tag, image_id, from_image, built=True)


def _base_hash(
    from_id: str, from_image: str, forwarding: PipForwarding, mirror_ca: bytes
) -> str:
    return content_id(
        from_id,
        render_base_dockerfile(from_image),
        forwarding.render_pip_conf(SYSTEM_CA_BUNDLE),
        _ca_digest(forwarding),
        hashlib.sha256(mirror_ca).hexdigest(),
    )


def _ensure_from_image(runtime: Runtime, upstream: str, release: str, reporter: Reporter) -> str:
    rootfs = f"{ROOTFS_IMAGE.partition(':')[0]}:{release}"
    if runtime.image_id(upstream):
        return upstream
    if runtime.image_id(rootfs):
        return rootfs
    reporter.stage("base", f"pulling {upstream}")
    if runtime.pull(upstream):
        return upstream
    reporter.stage("base", f"pull failed; bootstrapping Debian {release} with debootstrap (~1 min)")
    bootstrap_rootfs_image(runtime, rootfs, release)
    return rootfs


def bootstrap_rootfs_image(runtime: Runtime, ref: str, release: str = RELEASES[0]) -> str:
    """debootstrap a minimal `release` into a temp dir and `docker import` it as `ref`."""
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise BaseImageError(
            "cannot pull the base image and debootstrap is missing; "
            "install it with `apt-get install -y debootstrap` (or allow registry pulls)"
        )
    if os.geteuid() != 0:
        raise BaseImageError("building the base image with debootstrap needs root; run as root")
    mirror = os.environ.get("CLIGYM_DEBIAN_MIRROR", DEFAULT_MIRROR)
    repository, _, tag = ref.partition(":")
    with tempfile.TemporaryDirectory(prefix="cligym-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        argv = [debootstrap, "--variant=minbase", release, str(root), mirror]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
        if proc.returncode != 0:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            raise BaseImageError(
                f"debootstrap from {mirror} failed: {' '.join(last)}; "
                "set CLIGYM_DEBIAN_MIRROR to a reachable Debian mirror"
            )
        # Trim apt caches so nothing of the bootstrap leaks into every image.
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / leftover, ignore_errors=True)
            (root / leftover).mkdir(parents=True, exist_ok=True)
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(tarball), "."], check=True, timeout=600)
        return runtime.import_rootfs(tarball, repository, tag)
