"""The durable run queue on the database (:class:`actors.queue.RunQueue`, the piccolo ``runs`` table).

Every state change of a run is one conditional UPDATE of its row, so several replicas' dispatchers can share the
table: the ``WHERE`` clauses carry the contract's conditions (still queued, still running under this token).
The queue uses whatever engine :func:`classroom.db.bind` bound in this process (the dispatcher runs in the web
process); :meth:`PiccoloRunQueue.insert` is the edge's own write, when a run is submitted.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.queue import INTERACTIVE_KEY, LIMITS_KEY, MAX_ATTEMPTS, QueuedRun, internal_error
from classroom.tables import Lesson, Run

RESULT_COLUMNS = (
    "verdict",
    "exit_code",
    "signal",
    "stdout",
    "stderr",
    "stdout_truncated",
    "stderr_truncated",
    "wall_ms",
    "cpu_ms",
    "peak_memory_bytes",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _queued(row: dict[str, Any]) -> QueuedRun:
    created = row["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return QueuedRun(
        id=str(row["id"]),
        user=str(row["user"]),
        room=_s(row["room"]),
        klass=_s(row["klass"]),
        priority=int(row["priority"] or 0),
        created_at=created,
        attempts=int(row["attempts"] or 0),
        kind=str(row.get("kind") or "run"),
        exercise=_s(row.get("exercise")),
        graded=bool(row.get("tests")) or row.get("kind") == "grade",
    )


async def grade_spec(lesson_id: Any) -> dict[str, Any]:
    """The ``grade`` part of a check's spec: the hidden tests of that lesson version (none if it was deleted,
    which the slot reports as an internal error)."""
    row = None
    if lesson_id is not None:
        row = await Lesson.select(Lesson.hidden_tests).where(Lesson.id == lesson_id).first().run()
    return {"tests": stored_tests(row["hidden_tests"]) if row else []}


def stored_tests(text: str) -> list[dict[str, Any]]:
    """``lessons.hidden_tests`` as the slot takes them. The column holds the JSON list written by
    :func:`classroom.courses.format.tests_to_text`; text of the older form (one plain script) is one test."""
    if not text.strip():
        return []
    try:
        tests = json.loads(text)
    except ValueError:
        tests = None
    if not isinstance(tests, list):
        return [{"name": "hidden tests", "code": text, "points": 1.0, "message": ""}]
    return [
        {
            "name": str(t["name"]),
            "code": str(t["code"]),
            "points": float(t.get("points", 1)),
            "message": t.get("message", ""),
        }
        for t in tests
    ]


class PiccoloRunQueue:
    """:class:`~actors.queue.RunQueue` on the ``runs`` table (stateless: the bound engine is the state)."""

    async def insert(self, run: Run) -> None:
        """Write a submitted run's row (``queued``, or ``running`` already claimed by the hot path)."""
        await run.save().run()

    async def load_queued(self, limit: int = 5000) -> list[QueuedRun]:
        rows = (
            await Run.select(
                *(Run.id, Run.user, Run.room, Run.klass, Run.priority, Run.created_at, Run.attempts),
                *(Run.kind, Run.exercise, Run.lesson.hidden_tests.as_alias("tests")),
            )
            .where(Run.status == "queued")
            .order_by(Run.created_at)
            .limit(limit)
            .run()
        )
        return [_queued(r) for r in rows]

    async def load_spec(self, run_id: str) -> dict[str, Any] | None:
        row = (
            await Run.select(Run.files, Run.entry, Run.stdin, Run.args, Run.status, Run.kind, Run.lesson)
            .where(Run.id == uuid.UUID(run_id))
            .first()
            .run()
        )
        if row is None:
            return None
        files = row["files"]
        if isinstance(files, str):
            files = json.loads(files)
        args = row["args"]
        if isinstance(args, str):
            args = json.loads(args)
        interactive = bool(files.pop(INTERACTIVE_KEY, False)) if isinstance(files, dict) else False
        limits = files.pop(LIMITS_KEY, None) if isinstance(files, dict) else None
        spec = {"files": files, "entry": row["entry"], "stdin": row["stdin"], "args": args, "interactive": interactive}
        if isinstance(limits, dict):
            spec["limits"] = limits
        if row["kind"] == "grade":
            spec["grade"] = await grade_spec(row["lesson"])
        return spec

    async def claim(self, run_id: str, token: str, lease_seconds: float) -> int | None:
        now = _now()
        rows = (
            await Run.update(
                {
                    Run.status: "running",
                    Run.slot: token,
                    Run.attempts: Run.attempts + 1,
                    Run.started_at: now,
                    Run.lease_expires_at: now + timedelta(seconds=lease_seconds),
                }
            )
            .where((Run.id == uuid.UUID(run_id)) & (Run.status == "queued"))
            .returning(Run.attempts)
            .run()
        )
        return int(rows[0]["attempts"]) if rows else None

    async def renew(self, tokens: list[str], lease_seconds: float) -> None:
        if tokens:
            await (
                Run.update({Run.lease_expires_at: _now() + timedelta(seconds=lease_seconds)})
                .where(Run.slot.is_in(tokens) & (Run.status == "running"))
                .run()
            )

    async def requeue(self, run_id: str, token: str, reason: str, *, count_attempt: bool = True) -> bool:
        values: dict[Any, Any] = {Run.status: "queued", Run.slot: None, Run.lease_expires_at: None}
        values[Run.internal_reason] = reason
        if not count_attempt:
            values[Run.attempts] = Run.attempts - 1
        rows = (
            await Run.update(values)
            .where((Run.id == uuid.UUID(run_id)) & (Run.status == "running") & (Run.slot == token))
            .returning(Run.id)
            .run()
        )
        return bool(rows)

    async def finish(
        self, run_id: str, result: dict[str, Any], *, token: str | None = None, only_queued: bool = False
    ) -> bool:
        values: dict[Any, Any] = {getattr(Run, c): result.get(c) for c in RESULT_COLUMNS if c in result}
        for flag in ("stdout_truncated", "stderr_truncated"):
            values[getattr(Run, flag)] = bool(result.get(flag, False))
        for text in ("stdout", "stderr"):
            values[getattr(Run, text)] = result.get(text) or ""
        error = result.get("error") or {}
        values[Run.error_type] = error.get("type")
        values[Run.error_message] = error.get("message")
        values[Run.error_line] = error.get("line")
        if result.get("verdict") == "internal_error" or result.get("internal_reason"):
            values[Run.internal_reason] = result.get("internal_reason") or result.get("detail") or None
        if "grade" in result:
            values[Run.grade] = result["grade"]
            values[Run.score] = result.get("fraction")
        values[Run.status] = "finished"
        values[Run.finished_at] = _now()
        values[Run.lease_expires_at] = None
        where = (Run.id == uuid.UUID(run_id)) & (Run.status != "finished")
        if token is not None:
            where = where & (Run.slot == token) & (Run.status == "running")
        if only_queued:
            where = where & (Run.status == "queued")
        rows = await Run.update(values).where(where).returning(Run.id).run()
        return bool(rows)

    async def recover_expired(self, max_attempts: int = MAX_ATTEMPTS) -> tuple[list[str], list[str]]:
        expired = (
            await Run.select(Run.id, Run.attempts, Run.slot)
            .where((Run.status == "running") & (Run.lease_expires_at < _now()))
            .run()
        )
        requeued, failed = [], []
        for row in expired:
            run_id, token = str(row["id"]), str(row["slot"])
            if int(row["attempts"] or 0) >= max_attempts:
                reason = f"gave up after {row['attempts']} attempts: the last one's dispatcher stopped ({token})"
                if await self.finish(run_id, internal_error(reason), token=token):
                    failed.append(run_id)
            elif await self.requeue(run_id, token, f"lease of {token} expired"):
                requeued.append(run_id)
        return requeued, failed
