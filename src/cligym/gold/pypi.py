"""Fetch a release's sdist through the package index's Simple API (PEP 691 JSON).

Uses the same index the host's pip uses (forwarded settings), so a private mirror works too. The
newest release whose sdist accepts the gold Python is chosen unless a version is pinned.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from cligym.errors import SourceError
from cligym.gold.recipe import supports
from cligym.runtime.hostpip import detect_forwarding

DEFAULT_INDEX = "https://pypi.org/simple"
_ACCEPT = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class SdistFile:
    filename: str
    url: str
    version: Version
    sha256: str | None
    requires_python: str | None


@dataclass(frozen=True)
class SdistRelease:
    name: str
    version: str
    url: str
    unpacked: Path


def index_url() -> str:
    options = dict(detect_forwarding().options)
    return options.get("index-url", DEFAULT_INDEX).split()[0].rstrip("/")


def parse_simple_json(payload: dict[str, object], project: str) -> list[SdistFile]:
    """Pure: the non-yanked sdists listed in a PEP 691 project page."""
    files = payload.get("files")
    out: list[SdistFile] = []
    for entry in files if isinstance(files, list) else []:
        if not isinstance(entry, dict) or entry.get("yanked"):
            continue
        filename = str(entry.get("filename", ""))
        if not filename.endswith((".tar.gz", ".zip")):
            continue
        try:
            name, version = parse_sdist_filename(filename)
        except (ValueError, InvalidVersion):
            continue
        if name != canonicalize_name(project):
            continue
        hashes = entry.get("hashes")
        sha = hashes.get("sha256") if isinstance(hashes, dict) else None
        rp = entry.get("requires-python")
        out.append(SdistFile(filename, str(entry["url"]), version, sha, str(rp) if rp else None))
    return out


def choose_sdist(
    files: list[SdistFile], version: str | None, python: str | None
) -> SdistFile | None:
    """Pure: the pinned version, else the newest final release compatible with `python`."""
    if version is not None:
        try:
            wanted = Version(version)
        except InvalidVersion:
            return None
        matches = [f for f in files if f.version == wanted]
        return sorted(matches, key=lambda f: f.filename.endswith(".zip"))[0] if matches else None
    candidates = [f for f in files if not f.version.is_prerelease and not f.version.is_devrelease]
    if python is not None:
        candidates = [f for f in candidates if supports(f.requires_python, python)]
    return max(candidates, key=lambda f: (f.version, f.filename.endswith(".tar.gz")), default=None)


def fetch_sdist(
    project: str, version: str | None, cache_dir: Path, python: str | None = None
) -> SdistRelease:
    """Download (cached) and unpack the sdist; SourceError says what to do when it fails."""
    base = index_url()
    url = f"{base}/{canonicalize_name(project)}/"
    try:
        with httpx.Client(timeout=60, follow_redirects=True) as client:
            response = client.get(url, headers={"Accept": _ACCEPT})
            if response.status_code == 404:
                raise SourceError(f"pypi:{project}: no such project on {base} (check the name)")
            response.raise_for_status()
            files = parse_simple_json(response.json(), project)
            chosen = choose_sdist(files, version, python)
            if chosen is None:
                what = f"version {version}" if version else "release with an sdist"
                known = sorted({str(f.version) for f in files}, key=Version)[-5:]
                hint = f" (recent sdists: {', '.join(known)})" if known else ""
                raise SourceError(f"pypi:{project}: no {what} on {base}{hint}")
            archive = cache_dir / chosen.filename
            if not archive.exists():
                _download(client, chosen, archive)
    except httpx.HTTPError as err:
        raise SourceError(
            f"pypi:{project}: cannot reach {base} ({err}); check network/pip config"
        ) from err
    except ValueError as err:
        raise SourceError(f"pypi:{project}: {base} did not answer with PEP 691 JSON") from err
    return SdistRelease(project, str(chosen.version), chosen.url, _unpack(archive))


def _download(client: httpx.Client, chosen: SdistFile, archive: Path) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    digest = hashlib.sha256()
    with client.stream("GET", chosen.url) as response, partial.open("wb") as out:
        response.raise_for_status()
        for block in response.iter_bytes():
            digest.update(block)
            out.write(block)
    if chosen.sha256 and digest.hexdigest() != chosen.sha256:
        partial.unlink(missing_ok=True)
        raise SourceError(f"{chosen.filename}: sha256 mismatch, download corrupted; try again")
    partial.rename(archive)


def _unpack(archive: Path) -> Path:
    """Unpack next to the archive; returns the sdist's single top-level directory."""
    target = archive.with_name(archive.name + ".d")
    if not target.is_dir():
        partial = archive.with_name(archive.name + ".d.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            if archive.name.endswith(".zip"):
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(partial)
            else:
                with tarfile.open(archive) as tf:
                    tf.extractall(partial, filter="data")
        except (tarfile.TarError, zipfile.BadZipFile, OSError) as err:
            shutil.rmtree(partial, ignore_errors=True)
            archive.unlink(missing_ok=True)
            raise SourceError(f"{archive.name}: cannot unpack ({err}); try again") from err
        partial.rename(target)
    entries = [p for p in target.iterdir()]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target


def wheel_fits(filename: str, python: str) -> bool:
    """Pure: does a wheel install on CPython `python` on x86_64 Linux (no build needed)?"""
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return False
    major, minor = python.split(".")[:2]
    cp = f"cp{major}{minor}"
    for tag in tags:
        interp_ok = tag.interpreter in ("py3", f"py{major}", cp) or (
            tag.abi == "abi3"
            and tag.interpreter.startswith("cp")
            and int(tag.interpreter[3:] or 0) <= int(minor)
        )
        platform_ok = tag.platform == "any" or (
            tag.platform.endswith("x86_64") and "linux" in tag.platform
        )
        if interp_ok and platform_ok and tag.abi in ("none", "abi3", cp):
            return True
    return False


def installable_releases(project: str, python: str) -> tuple[str, ...]:
    """Final releases of `project` that have a wheel for `python` (oldest first); () on error."""
    url = f"{index_url()}/{canonicalize_name(project)}/"
    try:
        with httpx.Client(timeout=30, follow_redirects=True) as client:
            response = client.get(url, headers={"Accept": _ACCEPT})
            response.raise_for_status()
            payload = response.json()
    except (httpx.HTTPError, ValueError):
        return ()
    versions: set[Version] = set()
    for entry in payload.get("files", []):
        name = str(entry.get("filename", ""))
        if entry.get("yanked") or not name.endswith(".whl") or not wheel_fits(name, python):
            continue
        if not supports(entry.get("requires-python"), python):
            continue
        try:
            version = parse_wheel_filename(name)[1]
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if not version.is_prerelease:
            versions.add(version)
    return tuple(str(v) for v in sorted(versions))
