"""`cligym package` and `cligym export`: issue texts into the catalog, tasks onto disk.

Every task directory is written into a staging directory beside its final place and renamed
into place, so an interrupted export never leaves a half-written task. Gold images are written
into one archive (`docker save` of them all, gzip) in `images/`: never once per task, and the
layers the gold images share (the base system, Python, the tools) once for all of them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cligym.catalog import Catalog
from cligym.difficulty.measure import by_task, ladder_label
from cligym.errors import CligymError
from cligym.grading.kit import GradeKit, collect_grade_kit
from cligym.harness.datasets import IMAGES_DIR
from cligym.llm.client import LlmSpec
from cligym.package.export.card import render_card
from cligym.package.export.layouts import (
    EXECUTABLES,
    ExportItem,
    NetworkPolicy,
    render_harbor,
    render_tb,
)
from cligym.package.export.manifest import (
    manifest_row,
    task_tarball,
    write_hf_dataset,
    write_jsonl,
    write_parquet,
)
from cligym.package.mirror import ensure_gold_mirror
from cligym.package.registry import Registry, RegistryRefs, registry_refs
from cligym.package.text.issue import check_issue, render_issue
from cligym.package.text.leakcheck import Secrets, secrets_for
from cligym.package.text.llm_issue import write_llm_issue
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import GoldEnv, HintLevel, IssueText, Task
from cligym.runtime.protocol import Runtime

log = logging.getLogger(__name__)
ExportFormat = Literal["harbor", "tb", "jsonl", "parquet", "hf"]
GoldImages = Literal["save", "none"]
PHRASINGS_TRIED = 6


class ExportError(CligymError):
    """The export cannot be written where it was asked to go."""


@dataclass(frozen=True)
class PackageOutcome:
    task: Task
    issue: IssueText | None
    reason: str = ""
    tokens: int = 0


@dataclass(frozen=True)
class GoldImageFile:
    image_tag: str
    image_id: str
    file: str  # the archive that holds it, relative to the export


@dataclass(frozen=True)
class ExportReport:
    out: Path
    format: ExportFormat
    written: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    gold_images: tuple[GoldImageFile, ...]
    images_bytes: int  # of the archive(s) that hold them
    bytes_total: int
    duration_sec: float


def package_task(
    catalog: Catalog,
    task: Task,
    gold: GoldEnv,
    seed: int = 0,
    force: bool = False,
    llm: LlmSpec | None = None,
    secrets: Secrets | None = None,
) -> PackageOutcome:
    """The task's issue text (stored); template phrasings are tried until one passes the leak
    checker, or (with `llm`) the model writes it under the same checker."""
    stored = catalog.get_issue(task.id)
    if stored is not None and not force:
        return PackageOutcome(task, stored)
    if secrets is None:
        secrets = task_secrets(catalog, task, gold)
    if llm is not None:
        written, reason, tokens = write_llm_issue(task, gold, secrets, llm, seed)
        if written is None:
            return PackageOutcome(task, None, reason, tokens)
        catalog.put_issue(written, gold.id)
        return PackageOutcome(task, written, tokens=tokens)
    problems: list[str] = []
    for attempt in range(PHRASINGS_TRIED):
        issue = render_issue(task, gold, secrets, seed=seed + attempt)
        problems = check_issue(issue, secrets)
        if not problems:
            catalog.put_issue(issue, gold.id)
            return PackageOutcome(task, issue)
    return PackageOutcome(task, None, f"issue text leaks: {problems[0]}")


def task_secrets(catalog: Catalog, task: Task, gold: GoldEnv) -> Secrets:
    """Secrets of the task's faults (tasks verified before faults were recorded: candidate's)."""
    if task.faults:
        return secrets_for(task, gold.layout)
    candidate = catalog.get_candidate(task.candidate_id)
    if candidate is None:
        raise CligymError(f"task {task.name}: candidate {task.candidate_id} is not in the catalog")
    return secrets_for(candidate, gold.layout)


def export_tasks(
    catalog: Catalog,
    runtime: Runtime,
    tasks: Sequence[Task],
    golds: dict[str, GoldEnv],
    out: Path,
    *,
    fmt: ExportFormat,
    hints: Sequence[HintLevel] = ("none",),
    gold_images: GoldImages = "save",
    artifacts_dir: Path,
    seed: int = 0,
    registry: Registry | None = None,
    network: NetworkPolicy | None = None,
    reporter: Reporter = NULL_REPORTER,
) -> ExportReport:
    """Write `tasks` in `fmt` under `out` (a directory; for jsonl/parquet, a file or directory);
    with `registry`, each task names its pushed images there (checked before anything is
    written)."""
    started = time.monotonic()
    refs = (
        {t.id: registry_refs(catalog, registry, t, golds[t.gold_id]) for t in tasks}
        if registry is not None
        else {}
    )
    policy = network or default_network(fmt)
    networking = _networking(catalog, runtime, tasks, golds, fmt, policy, registry,
                             reporter)
    existed = out.expanduser().exists()
    target = _prepare_out(out, fmt)
    try:
        return _export(
            catalog, runtime, tasks, golds, target, fmt, hints, gold_images, artifacts_dir,
            seed, refs, str(registry or ""), networking, reporter, started,
        )
    except BaseException:
        if not existed and target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # nothing was written: leave no empty dataset behind
        raise


def _export(
    catalog: Catalog,
    runtime: Runtime,
    tasks: Sequence[Task],
    golds: dict[str, GoldEnv],
    target: Path,
    fmt: ExportFormat,
    hints: Sequence[HintLevel],
    gold_images: GoldImages,
    artifacts_dir: Path,
    seed: int,
    refs: dict[str, RegistryRefs],
    registry: str,
    networking: Networking,
    reporter: Reporter,
    started: float,
) -> ExportReport:
    items: list[ExportItem] = []
    skipped: list[tuple[str, str]] = list(networking.skipped)
    kits: dict[str, GradeKit] = {}
    ladders = by_task(catalog.list_baselines())
    for task in tasks:
        if task.id in networking.excluded:
            continue
        gold = golds[task.gold_id]
        secrets = task_secrets(catalog, task, gold)
        outcome = package_task(catalog, task, gold, seed=seed, secrets=secrets)
        if outcome.issue is None:
            skipped.append((task.name, outcome.reason))
            continue
        if fmt in ("harbor", "tb", "hf") and gold.id not in kits:
            kits[gold.id] = collect_grade_kit(runtime, gold, artifacts_dir / gold.id)
        for level in hints:
            items.append(
                ExportItem(
                    task, gold, outcome.issue, level, kits.get(gold.id), secrets,
                    baseline=ladder_label(ladders.get(task.id, [])),
                    refs=refs.get(task.id),
                    network=networking.policy,
                    mirror_image=networking.mirrors.get(gold.id, ""),
                )
            )
    written: list[str] = []
    images: list[GoldImageFile] = []
    if fmt in ("jsonl", "parquet"):
        rows = [manifest_row(item) for item in items]
        (write_jsonl if fmt == "jsonl" else write_parquet)(rows, target)
        written = [item.dir_name for item in items]
        total = target.stat().st_size
    elif fmt == "hf":
        rows = []
        for n, item in enumerate(items, 1):
            binary = task_tarball(render_harbor(item))
            rows.append({"path": item.dir_name, "task_binary": binary, **manifest_row(item)})
            reporter.progress("export", n, len(items), item.dir_name)
        if gold_images == "save" and items:
            golds_out = list({i.gold.id: i.gold for i in items}.values())
            images = _save_gold_images(runtime, golds_out, target / IMAGES_DIR, reporter,
                                       networking.local_images(runtime))
        write_hf_dataset(rows, target, render_card(rows, images[0].file if images else None))
        written = [item.dir_name for item in items]
        total = _tree_bytes(target)
    else:
        render = render_harbor if fmt == "harbor" else render_tb
        for n, item in enumerate(items, 1):
            _write_task_dir(target, item.dir_name, render(item))
            written.append(item.dir_name)
            reporter.progress("export", n, len(items), item.dir_name)
        if gold_images == "save" and items:
            golds_out = list({i.gold.id: i.gold for i in items}.values())
            images = _save_gold_images(runtime, golds_out, target / IMAGES_DIR, reporter,
                                       networking.local_images(runtime))
        _write_readme(target, fmt, written, images, registry)
        total = _tree_bytes(target)
    return ExportReport(
        out=target,
        format=fmt,
        written=tuple(written),
        skipped=tuple(skipped),
        gold_images=tuple(images),
        images_bytes=sum((target / f).stat().st_size for f in {i.file for i in images}),
        bytes_total=total,
        duration_sec=round(time.monotonic() - started, 2),
    )


def default_network(fmt: ExportFormat) -> NetworkPolicy:
    """The package mirror, except for Terminal-Bench, whose harness deletes the mirror's image
    after each trial: there, the harness's network."""
    return "internet" if fmt == "tb" else "mirror"


@dataclass(frozen=True)
class Networking:
    """What the exported tasks may reach, and the mirror image of each gold env."""

    policy: NetworkPolicy
    mirrors: dict[str, str]  # gold id -> the mirror service's image (local tag or pinned)
    excluded: frozenset[str] = frozenset()  # task ids that cannot be repaired so
    skipped: tuple[tuple[str, str], ...] = ()

    def local_images(self, runtime: Runtime) -> dict[str, str]:
        """The mirror images to ship beside the gold images (local ones only)."""
        out = {}
        for ref in self.mirrors.values():
            image_id = runtime.image_id(ref) if "@" not in ref else None
            if image_id:
                out[ref] = image_id
        return out


def _networking(
    catalog: Catalog,
    runtime: Runtime,
    tasks: Sequence[Task],
    golds: dict[str, GoldEnv],
    fmt: ExportFormat,
    policy: NetworkPolicy,
    registry: Registry | None,
    reporter: Reporter,
) -> Networking:
    if policy == "mirror" and fmt == "tb":
        raise ExportError(
            "Terminal-Bench removes every image its compose file names after each trial, the "
            "package mirror's too: export tb with --network internet or offline"
        )
    if policy == "offline":
        downloads = [t for t in tasks if _repair_downloads(catalog, t)]
        why = "its repair downloads packages: export it with --network mirror"
        return Networking(policy, {}, frozenset(t.id for t in downloads),
                          tuple((t.name, why) for t in downloads))
    if policy == "internet" or fmt in ("jsonl", "parquet"):
        return Networking(policy, {})
    mirrors: dict[str, str] = {}
    for task in tasks:
        gold = golds[task.gold_id]
        if gold.id in mirrors:
            continue
        tag = ensure_gold_mirror(runtime, gold, reporter)
        mirrors[gold.id] = tag
        if registry is not None:  # the pushed copy of exactly this image, pinned
            pushed = catalog.get_push(str(registry), runtime.image_id(tag) or "")
            if pushed is None:
                raise ExportError(
                    f"the package mirror of {gold.name} is not in {registry}: run "
                    f"`cligym push --registry {registry}` again"
                )
            mirrors[gold.id] = pushed.pinned
    return Networking(policy, mirrors)


def _repair_downloads(catalog: Catalog, task: Task) -> bool:
    candidate = catalog.get_candidate(task.candidate_id)
    return candidate is None or candidate.needs_network


def _prepare_out(out: Path, fmt: ExportFormat) -> Path:
    out = out.expanduser().resolve()
    if fmt in ("jsonl", "parquet"):
        if out.is_dir() or not out.suffix:
            out.mkdir(parents=True, exist_ok=True)
            out = out / f"manifest.{fmt}"
        out.parent.mkdir(parents=True, exist_ok=True)
        return out
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out} is a file; give a directory for the {fmt} export")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"cannot create {out}: {err.strerror}") from err
    if not os.access(out, os.W_OK):
        raise ExportError(f"cannot write into {out}: permission denied")
    return out


def _write_task_dir(root: Path, name: str, files: dict[str, bytes]) -> None:
    staging = root / f".{name}.part"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for rel, data in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if rel in EXECUTABLES:
                path.chmod(0o755)
        final = root / name
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


GOLD_ARCHIVE = "gold-images.tar.gz"


def _save_gold_images(
    runtime: Runtime,
    golds: Sequence[GoldEnv],
    images_dir: Path,
    reporter: Reporter,
    extra: dict[str, str] | None = None,
) -> list[GoldImageFile]:
    """Every gold image in one `docker save` archive, indexed by images/index.json.

    The gold images of a corpus differ only in their top layers; one archive stores each
    layer once. Kept when it already holds these image ids; images an earlier export put
    there stay in it while they exist here (their tasks may still be in the directory).
    Files of the older one-archive-per-image layout are dropped once the archive holds
    their image."""
    images_dir.mkdir(parents=True, exist_ok=True)
    index_path = images_dir / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    path = images_dir / GOLD_ARCHIVE
    wanted = {g.image_tag: g.image_id for g in golds} | dict(extra or {})
    held: dict[str, str] = dict(index.get(GOLD_ARCHIVE, {}).get("images", {}))
    if not (path.exists() and all(held.get(tag) == id_ for tag, id_ in wanted.items())):
        kept = {t: i for t, i in held.items() if t not in wanted and runtime.image_id(t) == i}
        held = {**kept, **wanted}
        reporter.stage(
            "export", f"docker save {len(held)} gold image(s) -> {IMAGES_DIR}/{GOLD_ARCHIVE}"
        )
        runtime.save_image(sorted(held), path)
        index[GOLD_ARCHIVE] = {"images": dict(sorted(held.items()))}
        for name, entry in list(index.items()):
            if entry.get("image_tag") in held:  # one image per file: the older layout
                (images_dir / name).unlink(missing_ok=True)
                del index[name]
        tmp = index_path.with_name("index.json.part")
        tmp.write_text(json.dumps(index, indent=1, sort_keys=True))
        tmp.replace(index_path)
    return [GoldImageFile(g.image_tag, g.image_id, f"{IMAGES_DIR}/{GOLD_ARCHIVE}") for g in golds]


def _write_readme(
    root: Path,
    fmt: ExportFormat,
    written: Sequence[str],
    images: Sequence[GoldImageFile],
    registry: str = "",
) -> None:
    tasks = sorted({*written, *(p.name for p in root.iterdir() if _is_task_dir(p, fmt))})
    loads = "\n".join(
        f"docker load -i {file}   # {', '.join(i.image_tag for i in images if i.file == file)}"
        for file in sorted({i.file for i in images})
    )
    run = (
        "harbor run -p . -a oracle -n 2 -y      # every task: reward 1.0\n"
        "harbor run -p . -a nop -n 2 -y         # every task: reward 0.0"
        if fmt == "harbor"
        else "tb run --agent oracle --dataset-path . --n-concurrent 2"
    )
    loading = f"""## Load the gold images (once per machine)
```
{loads or "# gold images were not exported (--gold-images none): they must exist locally"}
```
"""
    pulled = (
        f"""## Images
The images are in the registry `{registry}`, pinned by digest: Harbor pulls each task's
prebuilt image (task.toml `[environment].docker_image`), and a build (`--force-build`, or
Terminal-Bench) starts FROM the gold image there. Nothing needs loading.
"""
        if registry and not images
        else ""
    )
    text = f"""# cligym environment-repair tasks ({fmt} layout)

{len(tasks)} tasks. Each is a broken environment of a real Python repository: the tests that
pass in the repository's gold image fail here, and the task is to repair the environment so
that they pass again. Each task's Dockerfile is `FROM` its repository's gold image plus the
fault steps, so the gold images are shipped once, in `{IMAGES_DIR}/` (one archive: the layers
they share are stored once).

{pulled or loading}
## Run
```
{run}
```
Validate with cligym: `cligym validate . --harness {fmt}`.
"""
    (root / "README.md").write_text(text)


def _is_task_dir(path: Path, fmt: ExportFormat) -> bool:
    marker = "task.toml" if fmt == "harbor" else "task.yaml"
    return path.is_dir() and (path / marker).is_file()


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
