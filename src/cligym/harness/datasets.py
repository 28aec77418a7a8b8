"""Exported datasets as the harnesses see them: task directories, their metadata, and the gold
images they build FROM (loaded from the dataset's images/ when the Docker Engine lacks them)."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml

from cligym.errors import CligymError
from cligym.progress import Reporter
from cligym.runtime.compose import ensure_compose
from cligym.runtime.protocol import Runtime
from cligym.selection import UnknownName, select_named

Harness = Literal["harbor", "tb"]
IMAGES_DIR = "images"  # a dataset's saved gold images, indexed by images/index.json


class DatasetError(CligymError):
    """The dataset is not what the harness needs."""


def find_task_dirs(dataset: Path, harness: Harness) -> list[Path]:
    """Task directories of a dataset (or the dataset itself when it is one task)."""
    marker = "task.toml" if harness == "harbor" else "task.yaml"
    if not dataset.is_dir():
        raise DatasetError(f"{dataset} is not a directory: give an exported dataset")
    if (dataset / marker).is_file():
        return [dataset]
    found = sorted(p for p in dataset.iterdir() if p.is_dir() and (p / marker).is_file())
    if not found:
        other = "task.yaml" if harness == "harbor" else "task.toml"
        if any((p / other).is_file() for p in dataset.iterdir() if p.is_dir()):
            flip = "tb" if harness == "harbor" else "harbor"
            raise DatasetError(f"{dataset} holds {flip} tasks: use --harness {flip}")
        raise DatasetError(f"no {harness} tasks ({marker}) in {dataset}")
    return found


def select_task_dirs(
    task_dirs: Sequence[Path], dataset: Path, names: Sequence[str], limit: int | None
) -> list[Path]:
    """The named tasks (all when none are named), at most `limit` of them."""
    try:
        return select_named(task_dirs, lambda p: p.name, names, limit)
    except UnknownName as err:
        raise DatasetError(f"no task named {err.name} in {dataset}") from None
    except ValueError as err:
        raise DatasetError(str(err)) from None


def task_meta(task_dir: Path, harness: Harness) -> dict[str, object]:
    """The cligym metadata an export wrote into the task."""
    if harness == "harbor":
        meta = tomllib.loads((task_dir / "task.toml").read_text()).get("metadata", {})
    else:
        path = task_dir / "cligym.json"
        meta = json.loads(path.read_text()) if path.is_file() else {}
    return meta if isinstance(meta, dict) else {}


def prebuilt_image(task_dir: Path) -> str:
    """A Harbor task's `[environment].docker_image` ("" when it is built from its Dockerfile)."""
    env = tomllib.loads((task_dir / "task.toml").read_text()).get("environment", {})
    image = env.get("docker_image", "") if isinstance(env, dict) else ""
    return image if isinstance(image, str) else ""


_FROM = re.compile(r"^\s*FROM\s+(\S+)", re.M | re.I)


def base_images(task_dirs: Sequence[Path], harness: Harness) -> set[str]:
    """The images the tasks build FROM (none for a Harbor task with a prebuilt image: Harbor
    pulls that, and builds nothing), and those their other compose services run (the package
    mirror)."""
    rel = "environment/" if harness == "harbor" else ""
    out: set[str] = set()
    for task_dir in task_dirs:
        compose = task_dir / f"{rel}docker-compose.yaml"
        if compose.is_file():
            services = (yaml.safe_load(compose.read_text()) or {}).get("services", {})
            out.update(
                str(s["image"]) for name, s in services.items()
                if name not in ("main", "client") and isinstance(s, dict) and "image" in s
            )
        if harness == "harbor" and prebuilt_image(task_dir):
            continue
        path = task_dir / f"{rel}Dockerfile"
        if path.is_file():
            out.update(_FROM.findall(path.read_text())[:1])
    return {image for image in out if "@sha256:" not in image}  # pinned: pulled by digest


def ensure_images(
    runtime: Runtime, dataset: Path, images: set[str], reporter: Reporter
) -> None:
    """Load missing gold images from the dataset's images/ (as indexed by the export)."""
    index_path = dataset / IMAGES_DIR / "index.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    by_tag = archives_by_tag(index)
    loaded: set[str] = set()
    for image in sorted(images):
        if runtime.image_exists(image):
            continue
        name = by_tag.get(image)
        if name in loaded:
            continue  # the archive that held it held more: loaded already
        if name is None:
            raise DatasetError(
                f"image {image} is neither local nor in {dataset / IMAGES_DIR}: "
                "re-export with --gold-images save, or build the gold env here"
            )
        reporter.stage("validate", f"docker load {IMAGES_DIR}/{name}")
        runtime.load_image(dataset / IMAGES_DIR / name)
        loaded.add(name)


def archives_by_tag(index: dict[str, dict[str, object]]) -> dict[str, str]:
    """Image tag -> the archive in images/ that holds it: one archive of every gold image
    (`{"images": {tag: id}}`), or one per image as older exports wrote (`{"image_tag": tag}`)."""
    out: dict[str, str] = {}
    for name, entry in index.items():
        held = entry.get("images")
        if isinstance(held, dict):
            out.update({str(tag): name for tag in held})
        elif isinstance(entry.get("image_tag"), str):
            out[str(entry["image_tag"])] = name
    return out


def prepare_harness(
    runtime: Runtime, task_dirs: Sequence[Path], harness: Harness, reporter: Reporter
) -> None:
    """What a harness run needs here: Compose v2, and every gold image the tasks build FROM."""
    ensure_compose()
    ensure_images(runtime, task_dirs[0].parent, base_images(task_dirs, harness), reporter)
