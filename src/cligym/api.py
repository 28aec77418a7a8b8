"""The public API: what the CLI calls and what tests use.

A `Workspace` is a work directory (catalog + artifacts) plus a lazily created Docker runtime; every
CLI command is one method call on it.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property
from importlib import resources
from pathlib import Path

from cligym.catalog import Catalog
from cligym.config import Settings, ensure_dir
from cligym.difficulty.ladder import LADDER, rung_named
from cligym.difficulty.measure import by_task, measure_tasks
from cligym.errors import CligymError, DockerUnavailableError
from cligym.faults.base import FaultContext
from cligym.gold.build import GoldRequest, GoldResult, build_gold
from cligym.gold.pypi import installable_releases
from cligym.grading.hacks import HACKS, hack_named
from cligym.harness.datasets import Harness
from cligym.invert.llm import run_llm_search
from cligym.invert.search import InvertReport, run_search
from cligym.llm.client import LlmSpec
from cligym.package.export.layouts import NetworkPolicy
from cligym.package.export.writer import (
    ExportFormat,
    ExportReport,
    GoldImages,
    PackageOutcome,
    export_tasks,
    package_task,
)
from cligym.package.registry import PushReport, parse_registry, push_images
from cligym.probe.run import run_probe
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import (
    BaselineRun,
    Candidate,
    GoldEnv,
    HintLevel,
    ImpactMap,
    ResourceKind,
    Task,
    VerifyResult,
)
from cligym.report.page import collect, render_report
from cligym.rollout.filters import FilterConfig, FilterSummary, judge_trajectory, summarize
from cligym.rollout.run import RolloutReport, RolloutSpec, run_rollouts
from cligym.rollout.sft import SftFormat, SftReport, export_sft
from cligym.runtime.base import RELEASES, BaseImageResult, base_tag_for, ensure_base_image
from cligym.runtime.docker import DockerRuntime, GcReport, run_is_alive
from cligym.runtime.doctor import DoctorReport, run_doctor
from cligym.selection import UnknownName, select_named
from cligym.validate.adversarial import AdversarialReport, validate_adversarial
from cligym.validate.dataset import ValidationReport, validate_dataset
from cligym.verify.contract import verify_candidate

SAMPLE_NAME = "stashkit"
OUT_HINT = "choose a writable --out"


def sample_repo_path() -> Path:
    """The embedded sample repository shipped inside the package."""
    return Path(str(resources.files("cligym.samples") / SAMPLE_NAME))


@dataclass(frozen=True)
class GoldOutcome:
    """Per-SOURCE outcome of `gold`: a result, or the one-line error that stopped it."""

    spec: str
    result: GoldResult | None = None
    error: str | None = None


class Workspace:
    """A work directory and the runtime that acts on it."""

    def __init__(self, settings: Settings | None = None, runtime: DockerRuntime | None = None):
        self.settings = settings or Settings.from_env()
        self._runtime = runtime

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.settings.paths.ensure().catalog)

    @property
    def runtime(self) -> DockerRuntime:
        if self._runtime is None:
            self._runtime = DockerRuntime(limits=self.settings.limits)
        return self._runtime

    def build_base(
        self, rebuild: bool = False, release: str = RELEASES[0], reporter: Reporter = NULL_REPORTER
    ) -> BaseImageResult:
        """The base image of a Debian release (the default one: `settings.base_image`)."""
        return ensure_base_image(
            self.runtime, base_tag_for(self.settings.base_image, release), release=release,
            rebuild=rebuild, reporter=reporter,
        )

    def gold(self, request: GoldRequest, reporter: Reporter = NULL_REPORTER) -> GoldResult:
        """Build or reuse the gold env of one SOURCE (raises CligymError on failure)."""
        if request.runs < 1:
            raise CligymError("--runs must be at least 1")
        if request.min_tests < 1:
            raise CligymError("--min-tests must be at least 1")
        return build_gold(request, self.settings, self.runtime, self.catalog, reporter)

    def gold_many(
        self, requests: list[GoldRequest], reporter: Reporter = NULL_REPORTER
    ) -> list[GoldOutcome]:
        """Each SOURCE independently: one failure never stops the others."""
        outcomes: list[GoldOutcome] = []
        for request in requests:
            try:
                outcomes.append(GoldOutcome(request.spec, result=self.gold(request, reporter)))
            except DockerUnavailableError:
                raise
            except CligymError as err:
                outcomes.append(GoldOutcome(request.spec, error=str(err).splitlines()[0]))
        return outcomes

    def list_gold(self) -> list[GoldEnv]:
        return self.catalog.list_gold()

    def get_gold(self, key: str) -> GoldEnv:
        """By exact id, else id prefix, name or source (the newest when one name has several)."""
        exact = self.catalog.get_gold(key)
        if exact is not None:
            return exact
        matches = self.catalog.find_gold(key)
        if not matches:
            raise CligymError(f"no gold environment matches {key!r}; see `cligym list gold`")
        names = {g.name for g in matches}
        if len(names) > 1:
            raise CligymError(
                f"{key!r} matches gold environments of {len(names)} repos; give more of the id"
            )
        return matches[0]

    def probe(
        self, key: str, refresh: bool = False, reporter: Reporter = NULL_REPORTER
    ) -> ImpactMap:
        """The impact map of a gold env (probed once, then read from the catalog)."""
        return run_probe(
            self.get_gold(key), self.settings, self.runtime, self.catalog, reporter, refresh=refresh
        )

    def fault_context(self, gold: GoldEnv, reporter: Reporter = NULL_REPORTER) -> FaultContext:
        """Gold env + impact map (probed if needed) + installable releases of its deps."""
        impact = run_probe(gold, self.settings, self.runtime, self.catalog, reporter)
        releases = {}
        for key in impact.resources:
            if key.kind is ResourceKind.DIST:
                releases[key.name] = installable_releases(key.name, gold.python_version)
        return FaultContext(gold, impact, releases)

    def invert(
        self,
        key: str,
        budget: int = 60,
        seed: int = 0,
        max_faults: int = 3,
        reporter: Reporter = NULL_REPORTER,
    ) -> InvertReport:
        """Search for broken environments of a gold env; accepted ones become candidates."""
        if budget < 1:
            raise CligymError("--budget must be at least 1")
        if not 1 <= max_faults <= 3:
            raise CligymError("--max-faults must be 1, 2 or 3")
        gold = self.get_gold(key)
        ctx = self.fault_context(gold, reporter)
        return run_search(
            gold,
            ctx,
            self.settings,
            self.runtime,
            self.catalog,
            budget=budget,
            seed=seed,
            max_faults=max_faults,
            reporter=reporter,
        )

    def verify(
        self,
        key: str | None = None,
        limit: int | None = None,
        jobs: int = 2,
        reporter: Reporter = NULL_REPORTER,
    ) -> list[VerifyResult]:
        """Run the verification contract on candidates (`jobs` at a time)."""
        golds = [self.get_gold(key)] if key else self.list_gold()
        work = [(g, c) for g in golds for c in self.catalog.list_candidates(g.id)]
        if limit is not None:
            work = work[:limit]
        runtime, catalog, settings = self.runtime, self.catalog, self.settings

        done = [0]
        lock = threading.Lock()

        def one(item: tuple[GoldEnv, Candidate]) -> VerifyResult:
            result = verify_candidate(item[0], item[1], settings, runtime, catalog, reporter)
            with lock:
                done[0] += 1
                reporter.progress("verify", done[0], len(work), item[1].id[:8])
            return result

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            return list(pool.map(one, work))

    def invert_llm(
        self,
        key: str,
        spec: LlmSpec,
        budget: int = 10,
        seed: int = 0,
        max_steps: int = 30,
        max_tokens: int = 200_000,
        reporter: Reporter = NULL_REPORTER,
    ) -> InvertReport:
        """LLM mode: `budget` agent sessions over an OpenAI-compatible endpoint."""
        if budget < 1:
            raise CligymError("--budget must be at least 1")
        if not spec.model or not spec.base_url:
            raise CligymError("--agent llm needs --model and --base-url")
        gold = self.get_gold(key)
        impact = self.catalog.get_impact(gold.id) or self.probe(gold.id, reporter=reporter)
        return run_llm_search(
            gold,
            impact,
            spec,
            self.settings,
            self.runtime,
            self.catalog,
            budget=budget,
            seed=seed,
            max_steps=max_steps,
            max_tokens=max_tokens,
            reporter=reporter,
        )

    def list_tasks(self, key: str | None = None) -> list[Task]:
        return self.catalog.list_tasks(self.get_gold(key).id if key else None)

    def baseline(
        self,
        key: str | None = None,
        limit: int | None = None,
        jobs: int = 1,
        rungs: Sequence[str] = (),
        task_names: Sequence[str] = (),
        reporter: Reporter = NULL_REPORTER,
    ) -> dict[str, list[BaselineRun]]:
        """Climb the baseline ladder on verified tasks (all, or those named by id or name):
        task id -> the rungs' results."""
        try:
            ladder = tuple(rung_named(n) for n in rungs) if rungs else LADDER
        except KeyError as err:
            names = ", ".join(r.name for r in LADDER)
            raise CligymError(f"no baseline rung {err.args[0]!r}; rungs are {names}") from None
        if limit is not None and limit < 1:
            raise CligymError("--limit must be at least 1")
        tasks = self.list_tasks(key)
        if task_names:
            known = {name: t for t in tasks for name in (t.id, t.name)}
            unknown = [n for n in task_names if n not in known]
            if unknown:
                raise CligymError(f"no verified task {unknown[0]!r}; see `cligym list tasks`")
            tasks = list({known[n].id: known[n] for n in task_names}.values())
        tasks = tasks[:limit]
        return measure_tasks(
            self.runtime, self.catalog, self.settings, tasks, jobs=jobs, rungs=ladder,
            reporter=reporter,
        )

    def baselines(self) -> dict[str, list[BaselineRun]]:
        """Stored rung results per task id (no container runs)."""
        return by_task(self.catalog.list_baselines())

    def package(
        self,
        key: str | None = None,
        seed: int = 0,
        force: bool = False,
        llm: LlmSpec | None = None,
    ) -> list[PackageOutcome]:
        """Issue text for every task (stored in the catalog; kept unless `force`)."""
        golds = {g.id: g for g in ([self.get_gold(key)] if key else self.list_gold())}
        return [
            package_task(self.catalog, task, golds[task.gold_id], seed, force, llm)
            for task in self.list_tasks(key)
            if task.gold_id in golds
        ]

    def export(
        self,
        out: Path,
        fmt: ExportFormat,
        key: str | None = None,
        hints: Sequence[HintLevel] = ("none",),
        gold_images: GoldImages = "save",
        names: Sequence[str] = (),
        limit: int | None = None,
        seed: int = 0,
        registry: str | None = None,
        network: NetworkPolicy | None = None,
        reporter: Reporter = NULL_REPORTER,
    ) -> ExportReport:
        """Write verified tasks as a Harbor or Terminal-Bench dataset, or a manifest; with
        `registry` (pushed by `push` first), tasks name their prebuilt image there."""
        target = parse_registry(registry) if registry else None
        tasks, golds = self._chosen_tasks(key, names, limit, "export")
        return export_tasks(
            self.catalog,
            self.runtime,
            tasks,
            golds,
            out,
            fmt=fmt,
            hints=hints,
            gold_images=gold_images,
            artifacts_dir=self.settings.paths.gold_dir,
            seed=seed,
            registry=target,
            network=network,
            reporter=reporter,
        )

    def push(
        self,
        registry: str,
        key: str | None = None,
        names: Sequence[str] = (),
        limit: int | None = None,
        mirrors: bool = True,
        reporter: Reporter = NULL_REPORTER,
    ) -> PushReport:
        """Push gold, package mirror and task images to HOST[:PORT]/NAMESPACE; digests go
        into the catalog."""
        target = parse_registry(registry)
        tasks, golds = self._chosen_tasks(key, names, limit, "push")
        return push_images(
            self.catalog, self.runtime, target, tasks, golds, reporter, mirrors=mirrors
        )

    def _chosen_tasks(
        self, key: str | None, names: Sequence[str], limit: int | None, verb: str
    ) -> tuple[list[Task], dict[str, GoldEnv]]:
        """The verified tasks named (all when none are), at most `limit`, and their gold envs."""
        try:
            tasks = select_named(self.list_tasks(key), lambda t: t.name, names, limit)
        except UnknownName as err:
            raise CligymError(f"no task named {err.name}: see `cligym list tasks`") from None
        except ValueError as err:
            raise CligymError(str(err)) from None
        if not tasks:
            raise CligymError(f"no verified tasks to {verb}: run `cligym invert`, then `verify`")
        golds = {t.gold_id: self.catalog.get_gold(t.gold_id) for t in tasks}
        return tasks, {k: v for k, v in golds.items() if v is not None}

    def validate(
        self,
        dataset: Path,
        harness: Harness = "harbor",
        names: Sequence[str] = (),
        limit: int | None = None,
        concurrency: int = 2,
        load_only: bool = False,
        drop: bool = False,
        reporter: Reporter = NULL_REPORTER,
    ) -> ValidationReport:
        """oracle and nop in the real harness; verdicts go into the catalog."""
        return validate_dataset(
            dataset,
            harness,
            runtime=self.runtime,
            jobs_dir=self.settings.paths.root / "harness-jobs",
            catalog=self.catalog,
            names=names,
            limit=limit,
            concurrency=concurrency,
            load_only=load_only,
            drop=drop,
            reporter=reporter,
        )

    def validate_adversarial(
        self,
        dataset: Path,
        names: Sequence[str] = (),
        hacks: Sequence[str] = (),
        limit: int | None = None,
        concurrency: int = 2,
        reporter: Reporter = NULL_REPORTER,
    ) -> AdversarialReport:
        """Every reward hack (or the named ones) in place of the agent, in Harbor."""
        try:
            chosen = tuple(hack_named(n) for n in hacks) if hacks else HACKS
        except KeyError as err:
            raise CligymError(str(err.args[0])) from err
        return validate_adversarial(
            dataset,
            runtime=self.runtime,
            jobs_dir=self.settings.paths.root / "harness-jobs",
            names=names,
            hacks=chosen,
            limit=limit,
            concurrency=concurrency,
            reporter=reporter,
        )

    def rollout(
        self,
        dataset: Path,
        spec: RolloutSpec,
        names: Sequence[str] = (),
        limit: int | None = None,
        concurrency: int = 2,
        reporter: Reporter = NULL_REPORTER,
    ) -> RolloutReport:
        """Real Harbor agents on exported tasks; their trajectories go into the catalog."""
        return run_rollouts(
            dataset,
            spec,
            runtime=self.runtime,
            catalog=self.catalog,
            jobs_dir=self.settings.paths.root / "harness-jobs",
            names=names,
            limit=limit,
            concurrency=concurrency,
            reporter=reporter,
        )

    def filter(self, config: FilterConfig = FilterConfig()) -> FilterSummary:
        """Judge every stored trajectory (verdicts are stored); the summary of all verdicts."""
        verdicts = [judge_trajectory(t, config) for t in self.catalog.list_trajectories()]
        for verdict in verdicts:
            self.catalog.put_verdict(verdict)
        return summarize(verdicts)

    def sft(self, out: Path, fmt: SftFormat = "openai", include_all: bool = False) -> SftReport:
        """Kept trajectories as chat-format training data."""
        return export_sft(
            self.catalog.list_trajectories(), self.catalog.list_verdicts(), out, fmt, include_all
        )

    def report(self, out: Path, title: str = "cligym report") -> Path:
        """One self-contained HTML page about this work directory's catalog."""
        html = render_report(collect(self.catalog), title)
        out = out.expanduser().resolve()
        ensure_dir(out.parent, "output directory", OUT_HINT)
        tmp = out.with_name(out.name + ".part")
        tmp.write_text(html)
        tmp.replace(out)
        return out

    def doctor(self, min_free_gb: float = 10.0) -> DoctorReport:
        return run_doctor(self.settings.workdir, self.settings.base_image, min_free_gb)

    def gc(self, images: bool = False, force: bool = False) -> GcReport:
        """Remove labelled containers (and images) of dead runs and their staging dirs."""
        keep = self.catalog.gold_image_refs() if self.settings.paths.catalog.exists() else set()
        report = self.runtime.gc(keep_images=keep, remove_images=images, include_live=force)
        removed: list[str] = []
        staging = self.settings.paths.staging_dir
        for entry in sorted(staging.iterdir()) if staging.is_dir() else []:
            owner = entry.name.rsplit("-", 1)[0]
            if force or owner == self.runtime.run_id or not run_is_alive(owner):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
        return replace(report, staging_dirs=tuple(removed))
