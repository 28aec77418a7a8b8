"""A pipeline run as data: which repositories, with which budgets, exported how."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cligym.errors import CligymError

ExecutorKind = Literal["local", "ray"]
PipelineExport = Literal["harbor", "tb", "none"]


class RepoSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="local dir, git URL@ref, pypi:NAME==VERSION or image:REF")
    budget: int | None = Field(default=None, ge=1, description="inversion attempts (override)")
    kind: str = Field(default="", description="free-form: parsing, cli, date/time, ...")
    tests: tuple[str, ...] = Field(default=(), description="only these test paths or node ids")
    k: str = Field(default="", description="only tests matching this pytest -k expression")
    per_test_timeout: int | None = Field(
        default=None, ge=0, description="seconds one test may take (default 120, 0: off)"
    )
    layout: str = Field(default="", description="image:REF only: a layout name or TOML file")
    dockerfile: str = Field(
        default="", description="the repository's own Dockerfile or devcontainer.json as recipe"
    )
    python: str = Field(default="", description="X.Y: the base image whose python3 this is")


class PipelineSpec(BaseModel):
    """`cligym run` input; every field but the repos has a default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repos: tuple[RepoSpec, ...] = Field(min_length=1)
    budget: int = Field(default=30, ge=1)
    seed: int = 0
    runs: int = Field(default=2, ge=2, description="gold test runs")
    min_tests: int = Field(default=5, ge=1)
    workers: int = Field(default=0, ge=0, description="repos at once (0: sized to the machine)")
    verify_jobs: int = Field(default=1, ge=1)
    export_format: PipelineExport = "harbor"
    out: str = Field(default="datasets/pipeline-harbor", description="relative to the workdir")
    hints: tuple[Literal["none", "category", "specific"], ...] = ("none",)
    gold_images: Literal["save", "none"] = "save"
    network: Literal["mirror", "offline", "internet"] | None = Field(
        default=None, description="what exported tasks may reach (see `cligym export`)"
    )

    @model_validator(mode="after")
    def _distinct_sources(self) -> PipelineSpec:
        seen: set[str] = set()
        for repo in self.repos:
            if repo.source in seen:
                raise ValueError(f"{repo.source} is listed twice")
            seen.add(repo.source)
        return self

    def budget_of(self, repo: RepoSpec) -> int:
        return repo.budget or self.budget


def load_pipeline(path: Path) -> PipelineSpec:
    """Read a pipeline TOML: top-level settings under [pipeline], one [[repo]] per repository."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise CligymError(f"pipeline file {path} not found") from err
    except tomllib.TOMLDecodeError as err:
        raise CligymError(f"{path} is not valid TOML: {err}") from err
    settings = dict(data.get("pipeline", {}))
    settings["repos"] = data.get("repo", [])
    return validate_pipeline(settings, str(path))


def validate_pipeline(data: dict[str, object], where: str = "pipeline") -> PipelineSpec:
    """A PipelineSpec from plain data; the first problem as one line."""
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "repos"
        raise CligymError(f"{where}: {loc}: {first['msg']}") from err


def plan_pipeline(
    pipeline: Path | None = None,
    repos: Sequence[str] = (),
    *,
    budget: int | None = None,
    workers: int | None = None,
    export_format: str | None = None,
) -> PipelineSpec:
    """`cligym run`'s options as one PipelineSpec: the file's settings, then the flags on top.

    `repos`, when given, replace the file's repository list; the other flags override single
    settings. The first problem is one CligymError naming the flag or the file.
    """
    if pipeline is None and not repos:
        raise CligymError("give a pipeline TOML or --repos SOURCE ...")
    base: dict[str, object] = load_pipeline(pipeline).model_dump() if pipeline else {}
    if repos:
        base["repos"] = [{"source": s} for s in repos]
    overrides: dict[str, object] = {}
    if budget is not None:
        overrides["budget"] = budget
    if workers is not None:
        overrides["workers"] = workers
    if export_format is not None:
        if export_format not in ("harbor", "tb", "none"):
            raise CligymError(f"--format must be harbor, tb or none; got {export_format!r}")
        overrides["export_format"] = export_format
    return validate_pipeline({**base, **overrides}, "options")


def parse_executor(name: str) -> ExecutorKind:
    if name not in ("local", "ray"):
        raise CligymError(f"--executor must be local or ray; got {name!r}")
    return cast(ExecutorKind, name)


def check_ray_sources(spec: PipelineSpec, address: str | None) -> None:
    """On a remote cluster every source must be reachable from any node: no local paths."""
    local = [r.source for r in spec.repos if Path(r.source.split("@")[0]).exists()]
    if address and local:
        raise CligymError(
            f"{local[0]} is a local path, which workers on other nodes cannot read: "
            "use a git URL or pypi: source"
        )
