"""Task directory layouts: Harbor (native) and Terminal-Bench 1 (pure rendering into files).

Both are a thin layer over the gold image: the environment's Dockerfile is `FROM <gold>` plus
the fault steps, so every task of a repository shares the gold image's layers.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import tomli_w
import yaml

from cligym.difficulty.measure import names_culprit, repair_steps
from cligym.errors import CligymError
from cligym.grading.kit import GradeKit
from cligym.grading.verifier import (
    HARBOR_LOGS,
    REAP,
    REAP_SH,
    TB_RUN_TESTS,
    TB_TEST_OUTPUTS,
    render_solution,
    render_tests_dir,
    verifier_timeout_sec,
)
from cligym.package.mirror import mirror_service
from cligym.package.registry import RegistryRefs
from cligym.package.text.leakcheck import Secrets
from cligym.records import GoldEnv, HintLevel, IssueText, Task

_FROM = re.compile(r"^(\s*FROM\s+)\S+", re.M | re.I)
# What the task container may reach: the package mirror only (the default: repairable anywhere,
# nothing else reachable), nothing at all, or whatever the harness's network reaches.
NetworkPolicy = Literal["mirror", "offline", "internet"]
AGENT_TIMEOUT_SEC = 1800
BUILD_TIMEOUT_SEC = 900
CPUS = 2
MEMORY_MB = 4096
STORAGE_MB = 10240
AUTHOR = "cligym"


@dataclass(frozen=True)
class ExportItem:
    """Everything one exported task directory is made of."""

    task: Task
    gold: GoldEnv
    issue: IssueText
    hint: HintLevel
    kit_or_none: GradeKit | None  # only task-directory layouts need it
    secrets: Secrets
    baseline: str = "-"  # the lowest baseline rung that solves it, "none", or "-" (unmeasured)
    refs: RegistryRefs | None = None  # where `cligym push` put its images, pinned by digest
    network: NetworkPolicy = "internet"
    mirror_image: str = ""  # the package mirror service's image (network "mirror")

    @property
    def dir_name(self) -> str:
        return self.task.name if self.hint == "none" else f"{self.task.name}-hint-{self.hint}"

    @property
    def kit(self) -> GradeKit:
        if self.kit_or_none is None:
            raise CligymError(f"{self.task.name}: no gold manifest to build its verifier from")
        return self.kit_or_none

    @property
    def instruction(self) -> str:
        return self.issue.instruction(self.hint)

    @property
    def dockerfile(self) -> str:
        """The task's Dockerfile; FROM the gold image in the registry when it was pushed, so a
        harness that builds anyway needs no `docker load` either."""
        refs = self.refs
        if refs is None:
            return self.task.dockerfile
        return _FROM.sub(lambda m: m.group(1) + refs.gold, self.task.dockerfile, count=1)

    def metadata(self) -> dict[str, Any]:
        t = self.task
        return {
            "author_name": AUTHOR,
            "difficulty": t.difficulty_label,
            "category": "environment-repair",
            "tags": ["environment-repair", *map(str, t.categories), *t.families],
            "cligym_task_id": t.id,
            "repo": self.gold.name,
            "repo_source": self.gold.source.spec,
            "gold_id": self.gold.id,
            "gold_image": self.gold.image_tag,
            "project_dir": self.gold.layout.app_dir,
            "python_env": self.gold.layout.env_dir,
            **({"docker_image": self.refs.task} if self.refs else {}),
            "families": list(t.families),
            "fault_categories": [str(c) for c in t.categories],
            "difficulty_score": t.difficulty,
            "hint_level": self.hint,
            "fail_to_pass": len(t.fail_to_pass),
            "pass_to_pass": len(t.pass_to_pass),
            "baseline_solved_by": self.baseline,
            "repair_steps": repair_steps(t),
            "error_names_culprit": names_culprit(t),
            "network": self.network,
        }


TRUSTED_DIR = "cligym-trusted"  # environment/<this>, mounted read-only at TRUSTED_MOUNT
TRUSTED_MOUNT = "/opt/cligym"


def _common_test_files(item: ExportItem) -> dict[str, bytes]:
    """tests/: the verifier and all it trusts (see grading/verifier.py)."""
    t = item.task
    return render_tests_dir(
        item.kit, t.name, t.fail_to_pass, t.pass_to_pass, verifier_timeout_sec(item.gold)
    )


def _trusted_mount_files(item: ExportItem) -> dict[str, bytes]:
    """A read-only mount first on the container's PATH: the `bash` a harness starts its
    commands with, and the reaper its collect hook runs, are then not the agent's to change."""
    return {
        f"{TRUSTED_DIR}/bin/bash": item.kit.static_bash,
        f"{TRUSTED_DIR}/busybox": item.kit.busybox,
        f"{TRUSTED_DIR}/{REAP}": REAP_SH.encode(),
    }


def _main_service(item: ExportItem) -> dict[str, Any]:
    gold_path = item.kit.manifest["spec"]["container_env"].get("PATH", "/usr/bin:/bin")
    service: dict[str, Any] = {
        # Harbor's own `sh -c 'sleep infinity'` needs the image's /bin/sh, which a fault may
        # have broken (dash without its execute bit): the container would never start, and
        # no repair could be tried. The trusted static bash keeps it running.
        "command": [f"{TRUSTED_MOUNT}/bin/bash", "-c", "sleep infinity"],
        # `init: true` makes teardown immediate: `sleep infinity` as PID 1 ignores SIGTERM.
        "init": True,
        "volumes": [f"./{TRUSTED_DIR}:{TRUSTED_MOUNT}:ro"],
        "environment": {"PATH": f"{TRUSTED_MOUNT}/bin:{gold_path}"},
    }
    if item.network == "offline":
        service["network_mode"] = "none"
    elif item.network == "mirror":
        service["depends_on"] = ["mirror"]
    return service


def render_compose(item: ExportItem) -> dict[str, Any]:
    """The task's compose override. With the mirror, the default network has no way out
    (`internal`) and the mirror service answers for the package hosts on it."""
    compose: dict[str, Any] = {"services": {"main": _main_service(item)}}
    if item.network == "mirror":
        if not item.mirror_image:
            raise CligymError(f"{item.task.name}: no package mirror image for network mirror")
        compose["services"]["mirror"] = mirror_service(item.mirror_image)
        compose["networks"] = {"default": {"internal": True}}
    return compose


def _environment(item: ExportItem) -> dict[str, Any]:
    env: dict[str, Any] = {
        "build_timeout_sec": float(BUILD_TIMEOUT_SEC),
        "cpus": CPUS,
        "memory_mb": MEMORY_MB,
        "storage_mb": STORAGE_MB,
    }
    if item.refs is not None:
        # Harbor pulls this instead of building (the Dockerfile stays for `--force-build`)
        env["docker_image"] = item.refs.task
    return env


def render_harbor(item: ExportItem) -> dict[str, bytes]:
    """Relative path -> content of one Harbor task directory (schema 1.4)."""
    config = {
        "schema_version": "1.4",
        "metadata": item.metadata(),
        "verifier": {
            "timeout_sec": float(verifier_timeout_sec(item.gold) + 120),
            # before tests/ is copied in: no process of the agent phase survives to touch it
            "collect": [
                {
                    # and a reward file planted in the agent phase is void even if the
                    # verifier then cannot run (the trial errs instead of scoring it)
                    "command": f"{TRUSTED_MOUNT}/busybox sh {TRUSTED_MOUNT}/{REAP}; "
                    f"{TRUSTED_MOUNT}/busybox rm -rf {HARBOR_LOGS}/reward.txt "
                    f"{HARBOR_LOGS}/reward.json",
                    "user": "root",
                    "timeout_sec": 60.0,
                }
            ],
        },
        "agent": {"timeout_sec": float(AGENT_TIMEOUT_SEC)},
        "environment": _environment(item),
    }
    compose = render_compose(item)
    files = {
        "task.toml": tomli_w.dumps(config).encode(),
        "instruction.md": item.instruction.encode(),
        "environment/Dockerfile": item.dockerfile.encode(),
        "environment/docker-compose.yaml": yaml.safe_dump(compose, sort_keys=False).encode(),
        "environment/.dockerignore": f"{TRUSTED_DIR}\n".encode(),
        "solution/solve.sh": render_solution(item.task).encode(),
    }
    files.update({f"environment/{k}": v for k, v in _trusted_mount_files(item).items()})
    files.update({f"tests/{k}": v for k, v in _common_test_files(item).items()})
    return files


class _Literal(str):
    """A YAML block scalar (`|-`), so instructions stay readable in task.yaml."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)

TB_COMPOSE: dict[str, Any] = {
    "services": {
        "client": {
            "build": {"dockerfile": "Dockerfile"},
            "image": "${T_BENCH_TASK_DOCKER_CLIENT_IMAGE_NAME}",
            "container_name": "${T_BENCH_TASK_DOCKER_CLIENT_CONTAINER_NAME}",
            # no shell: a fault may have broken the image's /bin/sh (see _main_service)
            "command": ["sleep", "infinity"],
            "init": True,
            "environment": ["TEST_DIR=${T_BENCH_TEST_DIR}"],
            "volumes": [
                "${T_BENCH_TASK_LOGS_PATH}:${T_BENCH_CONTAINER_LOGS_PATH}",
                "${T_BENCH_TASK_AGENT_LOGS_PATH}:${T_BENCH_CONTAINER_AGENT_LOGS_PATH}",
            ],
        }
    }
}


def _tb_compose(item: ExportItem) -> dict[str, Any]:
    compose = copy.deepcopy(TB_COMPOSE)
    client = compose["services"]["client"]
    if item.network == "offline":
        client["network_mode"] = "none"
    elif item.network == "mirror":
        if not item.mirror_image:
            raise CligymError(f"{item.task.name}: no package mirror image for network mirror")
        client["depends_on"] = ["mirror"]
        compose["services"]["mirror"] = mirror_service(item.mirror_image)
        compose["networks"] = {"default": {"internal": True}}
    return compose


def render_tb(item: ExportItem) -> dict[str, bytes]:
    """Relative path -> content of one Terminal-Bench 1 task directory."""
    meta = item.metadata()
    config = {
        "instruction": _Literal(item.instruction.rstrip("\n")),
        "author_name": AUTHOR,
        "author_email": "unknown",
        "difficulty": item.task.difficulty_label,
        "category": "environment-repair",
        "tags": meta["tags"],
        "parser_name": "pytest",
        "max_agent_timeout_sec": float(AGENT_TIMEOUT_SEC),
        "max_test_timeout_sec": float(verifier_timeout_sec(item.gold) + 120),
        "run_tests_in_same_shell": False,
        "disable_asciinema": True,
    }
    task_yaml = yaml.dump(config, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    files = {
        "task.yaml": task_yaml.encode(),
        "Dockerfile": item.dockerfile.encode(),
        "docker-compose.yaml": yaml.safe_dump(_tb_compose(item), sort_keys=False).encode(),
        "run-tests.sh": TB_RUN_TESTS.format(python=item.gold.layout.python).encode(),
        "solution.sh": render_solution(item.task).encode(),
        "tests/test_outputs.py": TB_TEST_OUTPUTS.encode(),
        "cligym.json": json.dumps(meta, indent=1).encode(),
    }
    files.update({f"tests/{k}": v for k, v in _common_test_files(item).items()})
    return files


EXECUTABLES = {
    "tests/test.sh",
    "tests/busybox",
    "solution/solve.sh",
    "run-tests.sh",
    "solution.sh",
    f"environment/{TRUSTED_DIR}/bin/bash",
    f"environment/{TRUSTED_DIR}/busybox",
}
