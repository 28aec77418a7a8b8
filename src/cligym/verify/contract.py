"""The verification contract. A candidate becomes a Task only if all of these hold:

1. Rebuilt fresh with a real `docker build` as `FROM <gold>` + one `RUN` per step, the tests
   fail the same non-empty set of gold-stable tests (FAIL_TO_PASS) in two runs: the rebuilt
   image's and the inversion attempt's whole-suite run, or, where those differ, a second run
   of the rebuilt image (a slow suite runs the fewest times the contract allows).
2. The environment stays operable: a shell starts and basic tools run.
3. The task's own verifier (the grader the export ships, with its integrity checks) scores 1
   after the specific solution, and after the universal one: restore what `docker diff` shows
   the steps changed, from the gold image. For a repair chain, it scores 0 after the payload's
   repair alone (the broken tool really is in the way).
4. The leak audit finds nothing that reveals the fix.
5. No verified task of the same gold env has the same failing set and error signature.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cligym.catalog import Catalog
from cligym.config import Settings
from cligym.dedupe import dedupe_key, error_signature
from cligym.errors import CligymError
from cligym.faults.registry import is_blocker, payload_solution, target_hint
from cligym.grading.kit import collect_grade_kit
from cligym.grading.run import SOLUTION_MARKER, run_verifier
from cligym.grading.verifier import render_tests_dir
from cligym.ids import content_id
from cligym.progress import NULL_REPORTER, Reporter
from cligym.records import (
    AttemptOutcome,
    Candidate,
    GoldEnv,
    RejectionReason,
    Task,
    VerifyResult,
)
from cligym.runtime.protocol import ContainerHandle, Runtime
from cligym.testbed.attempt import last_line, run_attempt, suite_timeout_sec
from cligym.testbed.layout import gold_image_tag
from cligym.verify.leaks import PathStat, audit_leaks, parse_stat_lines, stat_rows
from cligym.verify.noise import noise_roots, with_noise
from cligym.verify.scoring import difficulty

log = logging.getLogger(__name__)
LABEL_CANDIDATE = "cligym.candidate"
SHELL_MARKER = "cligym-shell-ok"
_DEDUPE_LOCK = threading.Lock()


class Rejected(Exception):
    """A contract clause failed: its kind, and the message recorded as the reason."""

    def __init__(self, kind: RejectionReason, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True)
class RestorePlan:
    """The universal solution: files from gold, paths to remove, directory metadata to reset."""

    archives: tuple[tuple[str, bytes], ...]
    remove: tuple[str, ...]
    dir_meta: tuple[tuple[str, str, str, str, str], ...]  # path, mode, uid, gid, mtime

    def script(self) -> str:
        lines = [f"rm -rf -- {shlex.quote(p)}" for p in self.remove]
        for path, mode, uid, gid, mtime in self.dir_meta:
            p = shlex.quote(path)
            lines.append(f"chown {uid}:{gid} {p} && chmod {mode} {p} && touch -d @{mtime} {p}")
        return " && ".join(lines) if lines else "true"


def render_task_dockerfile(gold: GoldEnv, steps: Sequence[str]) -> str:
    """`FROM` gold plus one `RUN`: the steps among change-time noise (see verify/noise.py)."""
    lines = [f"FROM {gold.image_tag}"]
    if steps:
        lines.append(f"RUN {with_noise(steps, noise_roots(gold.layout))}")
    return "\n".join(lines) + "\n"


def verify_candidate(
    gold: GoldEnv,
    candidate: Candidate,
    settings: Settings,
    runtime: Runtime,
    catalog: Catalog,
    reporter: Reporter = NULL_REPORTER,
) -> VerifyResult:
    """Check the whole contract; the verdict (and the task) goes into the catalog."""
    previous = catalog.get_verify_result(candidate.id)
    if previous is not None:
        return previous
    started = time.monotonic()
    tag = gold_image_tag(gold.name, candidate.id).replace("cligym-gold/", "cligym-task/", 1)
    task: Task | None = None
    key: str | None = None
    try:
        task, key = _check(gold, candidate, tag, settings, runtime, catalog)
        result = VerifyResult(
            candidate_id=candidate.id,
            ok=True,
            reason="verified",
            task_id=task.id,
            duration_sec=round(time.monotonic() - started, 2),
        )
    except Rejected as why:
        runtime.remove_image(tag)
        result = VerifyResult(
            candidate_id=candidate.id,
            ok=False,
            reason=str(why),
            rejection=why.kind,
            duration_sec=round(time.monotonic() - started, 2),
        )
    except BaseException:
        runtime.remove_image(tag)
        raise
    with _DEDUPE_LOCK:  # verifications may run in parallel threads
        existing = catalog.task_by_dedupe_key(key) if task is not None and key else None
        if existing is not None:
            runtime.remove_image(tag)
            task = None
            result = result.model_copy(
                update={
                    "ok": False,
                    "reason": f"duplicate of task {existing.id}",
                    "rejection": RejectionReason.DUPLICATE,
                    "task_id": None,
                }
            )
        catalog.put_verify_result(result, gold.id, task, key)
    verdict = "verified" if result.ok else f"rejected: {(result.reason + chr(10)).splitlines()[0]}"
    reporter.stage("verify", f"{'+'.join(candidate.families)} {candidate.id[:8]}: {verdict}")
    return result


def _check(
    gold: GoldEnv,
    candidate: Candidate,
    tag: str,
    settings: Settings,
    runtime: Runtime,
    catalog: Catalog,
) -> tuple[Task, str]:
    timeout = suite_timeout_sec(gold, settings)
    dockerfile = render_task_dockerfile(gold, candidate.steps)
    context = settings.paths.staging_dir / f"{runtime.run_id}-{candidate.id}"
    context.mkdir(parents=True, exist_ok=True)
    try:
        (context / "Dockerfile").write_text(dockerfile)
        try:
            image_id = runtime.build(
                context,
                tag,
                kind="task",
                timeout_sec=settings.build_timeout_sec,
                labels={LABEL_CANDIDATE: candidate.id},
            )
        except CligymError as err:
            raise Rejected(
                RejectionReason.BUILD_FAILED,
                f"docker build failed: {str(err).splitlines()[0][:200]}",
            ) from err
    finally:
        shutil.rmtree(context, ignore_errors=True)

    # 1. real and deterministic: the rebuilt image fails what the attempt's run failed (two
    #    runs in two containers), or, if not, what a second run of the rebuilt image fails
    first = _suite_run(runtime, gold, tag, timeout)
    if not first.failing:
        raise Rejected(
            RejectionReason.NO_FAILURE,
            "no gold-stable test fails in the rebuilt image",
        )
    if first.failing != tuple(candidate.failing):
        second = _suite_run(runtime, gold, tag, timeout)
        if first.failing != second.failing:
            raise Rejected(
                RejectionReason.NONDETERMINISTIC,
                f"nondeterministic: {len(first.failing)} vs {len(second.failing)} failing",
            )
    fail_to_pass = first.failing
    pass_to_pass = tuple(t for t in gold.stability.stable_passing if t not in set(fail_to_pass))

    # 2. operable
    shell, _ = runtime.run(
        tag,
        ["bash", "-c", f"echo {SHELL_MARKER} && ls / >/dev/null && id -u"],
        stage="verify",
        timeout_sec=60,
        user="root",
        network=False,
    )
    if not shell.ok or SHELL_MARKER not in shell.output:
        raise Rejected(
            RejectionReason.SHELL_NOT_OPERABLE,
            f"shell not operable: {last_line(shell.output)}",
        )

    # 3. the task's own verifier (the files the export ships) gives reward 1 after the specific
    #    solution and after the universal restore-from-gold: the fix passes its integrity
    #    checks and restores every gold-stable test under the documented command
    kit = collect_grade_kit(runtime, gold, settings.paths.gold_artifacts(gold.id))
    tests = render_tests_dir(kit, candidate.id, fail_to_pass, pass_to_pass, timeout)
    for pause in (*NETWORK_RETRY_PAUSES_SEC, None):  # a package mirror's hiccup is retried
        fixed = run_verifier(
            runtime, tag, tests, agent_steps=candidate.solution,
            timeout_sec=timeout, network=candidate.needs_network,
        )
        if fixed.reward == 1 or pause is None or not is_network_error(fixed.agent_output):
            break
        time.sleep(pause)
    if fixed.timed_out:
        raise Rejected(
            RejectionReason.SOLUTION_TIMED_OUT,
            f"specific solution and verifier did not finish: {fixed.reason}",
        )
    if SOLUTION_MARKER not in fixed.agent_output:
        raise Rejected(
            RejectionReason.SOLUTION_DID_NOT_RUN,
            "specific solution did not run: " + last_line(fixed.agent_output),
        )
    if fixed.reward != 1:
        raise Rejected(
            RejectionReason.SOLUTION_FAILS,
            f"specific solution scores 0 in the task's verifier: {fixed.reason}",
        )

    # 3b. a repair chain holds: mending the payload without first mending the tool it needs
    #     (pip, apt) does not restore the tests; otherwise the "chain" is one fault plus noise
    if any(is_blocker(f) for f in candidate.faults):
        partial = run_verifier(
            runtime, tag, tests, agent_steps=payload_solution(candidate.faults),
            timeout_sec=timeout, network=candidate.needs_network,
        )
        if partial.reward == 1:
            raise Rejected(
                RejectionReason.CHAIN_DOES_NOT_HOLD,
                "the repair works without mending the broken tool first",
            )

    # 4. leak audit, then the universal restore from gold
    diff, stats, plan = _diff_and_plan(gold, candidate, runtime)
    created = _epoch(runtime.image_created(gold.image_tag))
    leaks = audit_leaks(diff, stats, created, FAULT_ARTIFACT_DIRS)
    if leaks:
        raise Rejected(RejectionReason.LEAK, f"leak: {leaks[0].reason}: {leaks[0].path}")
    restored = run_verifier(
        runtime, tag, tests, agent_steps=(plan.script(),), timeout_sec=timeout,
        archives=plan.archives,
    )
    if restored.reward != 1:
        raise Rejected(
            RejectionReason.RESTORE_FAILS,
            f"restore-from-gold scores 0 in the task's verifier: {restored.reason}",
        )

    # 5. dedupe
    signature = error_signature(first.errors)
    key = dedupe_key(gold, candidate, fail_to_pass, signature)

    score, label = difficulty(
        candidate, first.errors, len(gold.stability.stable_passing), first.runner_broken
    )
    added = max(0, runtime.image_size_bytes(tag) - runtime.image_size_bytes(gold.image_tag))
    task_id = content_id("task-id", gold.id, candidate.id)
    categories = sorted({c.value for c in candidate.categories})
    specific = [target_hint(t) for t in candidate.faults]
    hints = {
        "category": "The problem is in " + ", ".join(c.replace("-", " ") for c in categories) + ".",
        "specific": " ".join(h[0].upper() + h[1:].rstrip(".") + "." for h in specific if h),
    }
    task = Task(
        id=task_id,
        name=f"{gold.name}-{candidate.families[0]}-{task_id[:6]}",
        gold_id=gold.id,
        candidate_id=candidate.id,
        families=candidate.families,
        categories=candidate.categories,
        faults=candidate.faults,
        steps=candidate.steps,
        tokens=candidate.tokens,
        dockerfile=dockerfile,
        solution=candidate.solution,
        restore_paths=tuple(diff),
        fail_to_pass=fail_to_pass,
        pass_to_pass=pass_to_pass,
        errors={t: first.errors.get(t, "") for t in fail_to_pass},
        signature=signature,
        difficulty=score,
        difficulty_label=label,
        image_tag=tag,
        image_id=image_id,
        image_bytes_added=added,
        hints=hints,
        created_at=datetime.now(UTC),
    )
    return task, key


def _suite_run(runtime: Runtime, gold: GoldEnv, tag: str, timeout: int) -> AttemptOutcome:
    """The documented command on the rebuilt image, no steps, as the test user."""
    outcome = run_attempt(runtime, gold, [], image=tag, timeout_sec=timeout, stage="verify")
    if outcome.timed_out:
        raise Rejected(
            RejectionReason.TESTS_TIMED_OUT,
            f"tests did not finish within {timeout} s in the rebuilt image",
        )
    return outcome


# Where fault families put the files a fault consists of (a shim, a profile script): such
# added files are the breakage itself, not leftovers. Changed files get no exemption.
FAULT_ARTIFACT_DIRS = (
    "/home/tester/.local",
    "/etc/profile.d",
    "/usr/local/lib/python-compat",
    "/opt/compat",
)


def _diff_and_plan(
    gold: GoldEnv, candidate: Candidate, runtime: Runtime
) -> tuple[list[tuple[str, str]], dict[str, PathStat], RestorePlan]:
    """Apply the steps to a gold container; read `docker diff`, stats, and gold's copies."""
    with runtime.container(
        gold.image_tag, stage="verify", user="root", network=candidate.needs_network
    ) as box:
        for step in candidate.steps:
            result = runtime.exec(box, ["bash", "-c", step], timeout_sec=600)
            if not result.ok:
                raise Rejected(
                    RejectionReason.STEPS_FAILED,
                    f"steps do not apply on the gold image: {last_line(result.output)}",
                )
        entries = [(d.kind, d.path) for d in runtime.diff(box, helper_image=gold.base_image)]
        paths = [p for k, p in entries if k in ("A", "C")]
        stats = parse_stat_lines(_stat(runtime, box, paths, "%n|%F|%Y|%s"))
    entries = clean_diff(entries)
    changed = [p for k, p in entries if k == "C"]
    deleted = sorted(p for k, p in entries if k == "D")
    top_deleted = [p for p in deleted if os.path.dirname(p) not in set(deleted)]
    added = sorted(p for k, p in entries if k == "A")
    top_added = [p for p in added if os.path.dirname(p) not in set(added)]
    archives: list[tuple[str, bytes]] = []
    dir_meta: list[tuple[str, str, str, str, str]] = []
    with runtime.container(gold.image_tag, stage="verify", user="root", network=False) as pure:
        text = _stat(runtime, pure, changed + top_deleted, "%n|%F|%a|%u|%g|%Y")
        for path, kind, mode, uid, gid, mtime in stat_rows(text, 6):
            if kind == "directory" and path not in top_deleted:
                # a changed directory: its entries are handled one by one, reset its metadata
                dir_meta.append((path, mode, uid, gid, mtime))
            else:  # a changed file, or a deleted file or tree: copy it back whole
                data = runtime.read_path(pure, path)
                if data:
                    archives.append((os.path.dirname(path) or "/", data))
    plan = RestorePlan(tuple(archives), tuple(top_added), tuple(dir_meta))
    return entries, stats, plan


RUNTIME_NOISE = (
    "/usr/sbin/docker-init",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/.dockerenv",
)


def clean_diff(entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Pure: drop what Docker itself adds to a running container (the init binary, resolv.conf)
    and directories listed as changed only because of those."""
    kept = [(k, p) for k, p in entries if p not in RUNTIME_NOISE]
    paths = {p for _, p in kept}
    out = []
    for kind, path in kept:
        prefix = path.rstrip("/") + "/"
        no_children = not any(q.startswith(prefix) for q in paths if q != path)
        # a changed directory whose only changed descendants were noise is no change at all
        if kind == "C" and no_children and any(n.startswith(prefix) for n in RUNTIME_NOISE):
            continue
        out.append((kind, path))
    return out


def _stat(runtime: Runtime, box: ContainerHandle, paths: Sequence[str], fmt: str) -> str:
    """`stat -c fmt` of many paths, 200 per exec; one line per path that exists."""
    out = []
    for i in range(0, len(paths), 200):
        chunk = paths[i : i + 200]
        cmd = ["sh", "-c", f"stat -c '{fmt}' -- \"$@\" 2>/dev/null; true", "stat", *chunk]
        out.append(runtime.exec(box, cmd, timeout_sec=120).output)
    return "".join(text if text.endswith("\n") or not text else text + "\n" for text in out)


NETWORK_RETRY_PAUSES_SEC = (10, 30)
_NETWORK_ERRORS = re.compile(
    r"Failed to fetch|Temporary failure (in name )?resolution|Temporary failure resolving"
    r"|Could not resolve|Network is unreachable|Connection (timed out|refused|reset)"
    r"|Max retries exceeded|ReadTimeoutError|ConnectTimeoutError|NewConnectionError"
)


def is_network_error(output: str) -> bool:
    """Whether a failed install failed on the network (apt mirror, PyPI), not on the fix."""
    return bool(_NETWORK_ERRORS.search(output))


def _epoch(created: str) -> int:
    text = re.sub(r"\.(\d{6})\d*", r".\1", created.replace("Z", "+00:00"))
    try:
        return int(datetime.fromisoformat(text).timestamp())
    except ValueError:
        return 0
