"""The SQLite catalog: the only persistent state of a work directory.

Rows are written in one transaction once a stage has fully succeeded, so a crash or an error never
leaves a half-written record; records are stored as JSON with a few indexed columns for lookups.
"""

from __future__ import annotations

import gzip
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from cligym.errors import CatalogError
from cligym.records import (
    Attempt,
    BaselineRun,
    Candidate,
    FilterVerdict,
    GoldEnv,
    ImpactMap,
    IssueText,
    PushedImage,
    Record,
    Task,
    TaskValidation,
    Trajectory,
    VerifyResult,
)

SCHEMA_VERSION = 1
_BUSY_TIMEOUT_SEC = 60
R = TypeVar("R", bound=Record)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gold_envs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source_spec TEXT NOT NULL,
    image_tag TEXT NOT NULL,
    image_id TEXT NOT NULL,
    stable_tests INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gold_envs_name ON gold_envs(name);
CREATE TABLE IF NOT EXISTS attempts (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS candidates (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_results (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS attempts_gold ON attempts(gold_id);
CREATE INDEX IF NOT EXISTS candidates_gold ON candidates(gold_id);
CREATE INDEX IF NOT EXISTS tasks_gold ON tasks(gold_id);
CREATE TABLE IF NOT EXISTS issues (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS validations (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trajectories (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS filter_verdicts (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS baselines (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pushes (
    id TEXT PRIMARY KEY, gold_id TEXT NOT NULL, created_at TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS impact_maps (
    gold_id TEXT PRIMARY KEY,
    tests INTEGER NOT NULL,
    resources INTEGER NOT NULL,
    record BLOB NOT NULL
);
"""


class Catalog:
    """Typed access to catalog.sqlite3; one short-lived connection per operation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._use_wal()
        with self._connect() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise CatalogError(
                    f"{path} was written by a newer cligym (schema {row[0]}); upgrade cligym"
                )

    def _use_wal(self) -> None:
        """Switch the file to WAL once; persistent, so later connections need no exclusive lock.

        The switch takes an exclusive lock that SQLite's busy handler does not always wait for
        (several processes opening a new catalog at once), so it is retried here.
        """
        deadline = time.monotonic() + _BUSY_TIMEOUT_SEC
        while True:
            try:
                conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SEC, isolation_level=None)
            except sqlite3.Error as err:
                raise CatalogError(f"cannot open catalog {self.path}: {err}") from err
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.DatabaseError as err:
                locked = isinstance(err, sqlite3.OperationalError) and "locked" in str(err)
                if not locked or time.monotonic() > deadline:
                    raise CatalogError(
                        f"catalog {self.path} is unreadable ({err}); move it away"
                    ) from err
            finally:
                conn.close()
            time.sleep(0.05)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction that takes the write lock up front.

        A deferred transaction that reads and then writes cannot wait for a concurrent writer
        (SQLite answers "database is locked" at once to avoid a deadlock); BEGIN IMMEDIATE waits
        for the lock under the busy timeout instead, so concurrent processes simply queue.
        """
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SEC, isolation_level=None)
        except sqlite3.Error as err:
            raise CatalogError(f"cannot open catalog {self.path}: {err}") from err
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as err:
            raise CatalogError(f"catalog {self.path} is unreadable ({err}); move it away") from err
        finally:
            conn.close()

    def block_writers(self) -> sqlite3.Connection:
        """Hold the write lock until this connection closes or the process exits.

        For abandoning a run: threads still mid-unit cannot record what they saw after their
        containers were removed; the open transaction writes nothing and dies with the process.
        """
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn

    def put_gold(self, gold: GoldEnv) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO gold_envs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    gold.id,
                    gold.name,
                    gold.source.spec,
                    gold.image_tag,
                    gold.image_id,
                    len(gold.stability.stable_passing),
                    gold.created_at.isoformat(),
                    gold.model_dump_json(),
                ),
            )

    def get_gold(self, gold_id: str) -> GoldEnv | None:
        with self._connect() as conn:
            row = conn.execute("SELECT record FROM gold_envs WHERE id = ?", (gold_id,)).fetchone()
        return _load(row[0]) if row else None

    def find_gold(self, key: str) -> list[GoldEnv]:
        """Gold envs whose id starts with `key` or whose name or source equals it."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT record FROM gold_envs WHERE id LIKE ? OR name = ? OR source_spec = ? "
                "ORDER BY created_at DESC",
                (key.replace("%", "") + "%", key, key),
            ).fetchall()
        return [_load(r[0]) for r in rows]

    def list_gold(self) -> list[GoldEnv]:
        with self._connect() as conn:
            rows = conn.execute("SELECT record FROM gold_envs ORDER BY created_at").fetchall()
        return [_load(r[0]) for r in rows]

    def delete_gold(self, gold_id: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM gold_envs WHERE id = ?", (gold_id,))

    def put_impact(self, impact: ImpactMap) -> None:
        """Impact maps can be large (a row per test and resource): stored gzip-compressed."""
        blob = gzip.compress(impact.model_dump_json().encode(), compresslevel=6)
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO impact_maps VALUES (?, ?, ?, ?)",
                (impact.gold_id, len(impact.tests), len(impact.resources), blob),
            )

    def get_impact(self, gold_id: str) -> ImpactMap | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT record FROM impact_maps WHERE gold_id = ?", (gold_id,)
            ).fetchone()
        if row is None:
            return None
        try:
            return ImpactMap.model_validate_json(gzip.decompress(row[0]))
        except (ValidationError, OSError) as err:
            raise CatalogError(f"impact map of {gold_id} is unreadable ({err}); re-probe") from err

    # ------------------------------------------------------------- inversion and verification
    def _put(
        self,
        conn: sqlite3.Connection,
        table: str,
        record_id: str,
        gold_id: str,
        created_at: str,
        record: Record,
    ) -> None:
        conn.execute(
            f"INSERT OR REPLACE INTO {table} (id, gold_id, created_at, record) VALUES (?, ?, ?, ?)",
            (record_id, gold_id, created_at, record.model_dump_json()),
        )

    def _get(self, table: str, record_id: str, model: type[R]) -> R | None:
        with self._connect() as conn:
            row = conn.execute(f"SELECT record FROM {table} WHERE id = ?", (record_id,)).fetchone()
        return model.model_validate_json(row[0]) if row else None

    def _list(self, table: str, gold_id: str | None, model: type[R]) -> list[R]:
        query = f"SELECT record FROM {table}"
        args: tuple[str, ...] = ()
        if gold_id is not None:
            query += " WHERE gold_id = ?"
            args = (gold_id,)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY created_at, id", args).fetchall()
        return [model.model_validate_json(r[0]) for r in rows]

    def put_attempt(self, attempt: Attempt, candidate: Candidate | None) -> None:
        """An attempt and (if accepted) its candidate, in one transaction."""
        with self._connect() as conn:
            when = attempt.created_at.isoformat()
            self._put(conn, "attempts", attempt.id, attempt.gold_id, when, attempt)
            if candidate is not None:
                self._put(conn, "candidates", candidate.id, candidate.gold_id, when, candidate)

    def get_attempt(self, attempt_id: str) -> Attempt | None:
        return self._get("attempts", attempt_id, Attempt)

    def list_attempts(self, gold_id: str | None = None) -> list[Attempt]:
        return self._list("attempts", gold_id, Attempt)

    def get_candidate(self, candidate_id: str) -> Candidate | None:
        return self._get("candidates", candidate_id, Candidate)

    def list_candidates(self, gold_id: str | None = None) -> list[Candidate]:
        return self._list("candidates", gold_id, Candidate)

    def put_verify_result(
        self, result: VerifyResult, gold_id: str, task: Task | None, dedupe_key: str | None
    ) -> None:
        """The verdict on a candidate and (if verified) its task, in one transaction."""
        with self._connect() as conn:
            now = datetime.now(UTC).isoformat()
            self._put(conn, "verify_results", result.candidate_id, gold_id, now, result)
            if task is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?)",
                    (
                        task.id,
                        task.gold_id,
                        task.created_at.isoformat(),
                        task.model_dump_json(),
                        dedupe_key or task.id,
                    ),
                )

    def get_verify_result(self, candidate_id: str) -> VerifyResult | None:
        return self._get("verify_results", candidate_id, VerifyResult)

    def list_verify_results(self, gold_id: str | None = None) -> list[VerifyResult]:
        return self._list("verify_results", gold_id, VerifyResult)

    def task_by_dedupe_key(self, key: str) -> Task | None:
        with self._connect() as conn:
            row = conn.execute("SELECT record FROM tasks WHERE dedupe_key = ?", (key,)).fetchone()
        return Task.model_validate_json(row[0]) if row else None

    def list_tasks(self, gold_id: str | None = None) -> list[Task]:
        return self._list("tasks", gold_id, Task)

    def get_task(self, task_id: str) -> Task | None:
        return self._get("tasks", task_id, Task)

    # ------------------------------------------------------------------ packaging and export
    def put_issue(self, issue: IssueText, gold_id: str) -> None:
        with self._connect() as conn:
            when = issue.created_at.isoformat()
            self._put(conn, "issues", issue.task_id, gold_id, when, issue)

    def get_issue(self, task_id: str) -> IssueText | None:
        return self._get("issues", task_id, IssueText)

    def put_validation(self, validation: TaskValidation, gold_id: str) -> None:
        """The latest oracle/nop verdict per (task, harness)."""
        with self._connect() as conn:
            key = f"{validation.task_id}:{validation.harness}"
            when = validation.created_at.isoformat()
            self._put(conn, "validations", key, gold_id, when, validation)

    def list_validations(self, gold_id: str | None = None) -> list[TaskValidation]:
        return self._list("validations", gold_id, TaskValidation)

    # ------------------------------------------------------------------ rollouts
    def put_trajectory(self, trajectory: Trajectory, gold_id: str = "") -> None:
        with self._connect() as conn:
            when = trajectory.created_at.isoformat()
            self._put(conn, "trajectories", trajectory.id, gold_id, when, trajectory)

    def list_trajectories(self) -> list[Trajectory]:
        return self._list("trajectories", None, Trajectory)

    def put_verdict(self, verdict: FilterVerdict) -> None:
        with self._connect() as conn:
            when = verdict.created_at.isoformat()
            self._put(conn, "filter_verdicts", verdict.trajectory_id, "", when, verdict)

    def list_verdicts(self) -> list[FilterVerdict]:
        return self._list("filter_verdicts", None, FilterVerdict)

    # ------------------------------------------------------------------ difficulty
    def put_baseline(self, run: BaselineRun, gold_id: str) -> None:
        """The latest result of one rung on one task."""
        with self._connect() as conn:
            key = f"{run.task_id}:{run.rung}"
            self._put(conn, "baselines", key, gold_id, run.created_at.isoformat(), run)

    def list_baselines(self, gold_id: str | None = None) -> list[BaselineRun]:
        return self._list("baselines", gold_id, BaselineRun)

    # ------------------------------------------------------------------ registries
    def put_push(self, pushed: PushedImage, gold_id: str) -> None:
        """The latest push of one image to one registry."""
        with self._connect() as conn:
            key = f"{pushed.registry}|{pushed.image_id}"
            self._put(conn, "pushes", key, gold_id, pushed.created_at.isoformat(), pushed)

    def get_push(self, registry: str, image_id: str) -> PushedImage | None:
        return self._get("pushes", f"{registry}|{image_id}", PushedImage)

    def gold_image_refs(self) -> set[str]:
        """Tags and ids of every image the catalog refers to (gold envs and tasks)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT image_tag, image_id FROM gold_envs").fetchall()
        refs = {ref for row in rows for ref in row}
        for task in self.list_tasks():
            refs |= {task.image_tag, task.image_id}
        return refs


def _load(text: str) -> GoldEnv:
    try:
        return GoldEnv.model_validate_json(text)
    except ValidationError as err:
        raise CatalogError(f"catalog record is not readable by this cligym version: {err}") from err
