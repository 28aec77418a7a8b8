"""A pipeline run as data: which repositories, with which budgets, exported how."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cligym.errors import CligymError


class RepoSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="local dir, git URL@ref or pypi:NAME==VERSION")
    budget: int | None = Field(default=None, ge=1, description="inversion attempts (override)")
    kind: str = Field(default="", description="free-form: parsing, cli, date/time, ...")


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
    export_format: Literal["harbor", "tb", "none"] = "harbor"
    out: str = Field(default="datasets/pipeline-harbor", description="relative to the workdir")
    hints: tuple[Literal["none", "category", "specific"], ...] = ("none",)
    gold_images: Literal["save", "none"] = "save"

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
