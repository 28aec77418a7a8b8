"""What a task's verifier trusts, taken from the gold image once per gold env (cached).

- the gold manifest: `grader.py record` run in a gold container, as root, with no network;
- the toolbox: Debian's static busybox (the verifier's shell and tools) and static bash (the
  shell Harbor starts the verifier with, from a read-only mount), copied out of the image.

Both come from the gold image, never from a task's container, so nothing an agent does can
reach them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cligym.errors import CligymError
from cligym.records import GoldEnv
from cligym.runtime.archive import read_file_from_tar
from cligym.runtime.protocol import Runtime
from cligym.shipped import shipped_source
from cligym.testbed.command import render_test_script
from cligym.testbed.layout import RESULTS_DIR, TEST_USER

MANIFEST_FILE = "gold-manifest.json.gz"
BUSYBOX = "busybox"
STATIC_BASH = "bash-static"
_IMAGE_PATHS = {BUSYBOX: "/bin/busybox", STATIC_BASH: "/bin/bash-static"}
RUNUSER = "/usr/sbin/runuser"


def grader_spec(gold: GoldEnv, container_env: dict[str, str], uid: int, gid: int) -> dict[str, Any]:
    """What `grader.py record` needs to know about the gold env's layout."""
    return {
        "app": gold.layout.app_dir,
        "venv": gold.layout.env_dir,
        "user": TEST_USER,
        "uid": uid,
        "gid": gid,
        "home": f"/home/{TEST_USER}",
        "runuser": RUNUSER,
        "results_dir": RESULTS_DIR,
        "test_script": render_test_script(gold.recipe, gold.layout, with_metadata=False),
        "container_env": container_env,
    }


def shipped_sources() -> dict[str, str]:
    """The grader and the junit walker it imports, as files of a task's tests/."""
    return {name: shipped_source(name) for name in ("grader.py", "junitxml.py")}


@dataclass(frozen=True)
class GradeKit:
    """The gold manifest (gzip JSON) and the static tools of one gold env."""

    manifest_gz: bytes
    busybox: bytes
    static_bash: bytes

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return json.loads(gzip.decompress(self.manifest_gz))  # type: ignore[no-any-return]

    def boot_sha256(self) -> str:
        """`sha256sum -c` input for what the grading interpreter runs on: its binary, loader,
        libraries and every standard-library file but bytecode (which it bypasses)."""
        m = self.manifest
        rows = dict(m["boot"]["files"])
        for root, tree in m["trees"].items():
            if root in m["boot"]["stdlib_roots"]:
                for path, d in tree["files"].items():
                    if d.startswith("f:") and not path.endswith(".pyc"):
                        rows[path] = d
        return "".join(f"{d[2:]}  {p}\n" for p, d in sorted(rows.items()) if d.startswith("f:"))

    def stdlib_listing(self) -> str:
        """What `find STDLIB ! -type d ! -name '*.pyc' | sort` printed in gold: nothing may be
        added where the grading interpreter imports from."""
        return "".join(f"{p}\n" for p in self.manifest["boot"]["stdlib_files"])


def _cache_name(name: str) -> str:
    """The manifest is cached per grader version: a changed grader records it anew."""
    if name != MANIFEST_FILE:
        return name
    digest = hashlib.sha256(shipped_sources()["grader.py"].encode()).hexdigest()[:12]
    return f"gold-manifest-{digest}.json.gz"


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.Lock())


def collect_grade_kit(runtime: Runtime, gold: GoldEnv, cache_dir: Path) -> GradeKit:
    """The gold env's kit, recorded on first use and cached beside its other artifacts."""
    paths = {
        name: cache_dir / _cache_name(name) for name in (MANIFEST_FILE, BUSYBOX, STATIC_BASH)
    }
    with _lock_for(cache_dir):  # verifications of one gold env run in parallel threads
        if not all(p.exists() for p in paths.values()):
            blobs = _record(runtime, gold)
            cache_dir.mkdir(parents=True, exist_ok=True)
            for name, data in blobs.items():
                # a name of its own per writer: other processes may record the same kit
                with tempfile.NamedTemporaryFile(
                    dir=cache_dir, prefix=paths[name].name, suffix=".part", delete=False
                ) as tmp:
                    tmp.write(data)
                os.replace(tmp.name, paths[name])
    return GradeKit(*(paths[n].read_bytes() for n in (MANIFEST_FILE, BUSYBOX, STATIC_BASH)))


def _record(runtime: Runtime, gold: GoldEnv) -> dict[str, bytes]:
    env = runtime.image_env(gold.image_tag)
    with runtime.container(gold.image_tag, stage="package", user="root", network=False) as box:
        ids = runtime.exec(box, ["id", "-u", TEST_USER], timeout_sec=30).output.split()
        gids = runtime.exec(box, ["id", "-g", TEST_USER], timeout_sec=30).output.split()
        if not ids or not gids or not ids[-1].isdigit() or not gids[-1].isdigit():
            raise CligymError(f"{gold.image_tag} has no user {TEST_USER}: rebuild the gold env")
        spec = grader_spec(gold, env, int(ids[-1]), int(gids[-1]))
        files = {**shipped_sources(), "spec.json": json.dumps(spec)}
        runtime.put_files(box, "/run/cligym-record", files)
        cmd = (
            f"cd /run/cligym-record && {gold.layout.python} -I -S grader.py record spec.json "
            "> manifest.json"
        )
        result = runtime.exec(box, ["bash", "-c", cmd], timeout_sec=600)
        if not result.ok:
            raise CligymError(
                f"could not record the gold manifest of {gold.name}: {result.output[-300:]}"
            )
        manifest = read_file_from_tar(runtime.read_path(box, "/run/cligym-record/manifest.json"))
        tools = {
            name: read_file_from_tar(runtime.read_path(box, path))
            for name, path in _IMAGE_PATHS.items()
        }
    missing = [n for n, data in tools.items() if not data]
    if not manifest or missing:
        raise CligymError(
            f"{gold.image_tag} lacks {', '.join(missing) or 'a manifest'}: rebuild the base "
            "image (`cligym base --rebuild`) and the gold env"
        )
    out = {MANIFEST_FILE: gzip.compress(manifest, mtime=0)}
    out.update({n: d for n, d in tools.items() if d})
    return out
