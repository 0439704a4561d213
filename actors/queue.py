"""The durable run queue: every state change of a run is one conditional UPDATE of its ``runs`` row.

The row is the source of truth; a dispatcher's memory is only a cache of it. The rules that make the queue
at-least-once in execution and exactly-once in recording:

- **claim**: ``queued -> running`` only ``WHERE status='queued'`` — two dispatchers never take the same run.
  The claim writes a fresh *token* into ``slot`` (dispatcher / slot / attempt) and a lease.
- **lease**: the claiming dispatcher renews ``lease_expires_at`` while the run is in flight; a run whose lease
  expired (its dispatcher or web process died) goes back to ``queued`` — or, after ``max_attempts``, is
  finished as ``internal_error`` with the reason.
- **finish**: the result is written ``WHERE status='running' AND slot=token`` — only the current attempt can
  record it, and only once. A stale attempt's result is dropped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from classroom.tables import Run

MAX_ATTEMPTS = 3
# Whether stdin stays open is stored beside the files in the row's JSON, under a key that is never a file name.
INTERACTIVE_KEY = "/interactive"


@dataclass
class QueuedRun:
    """What the fair scheduler needs to know about a queued run."""

    id: str
    user: str
    room: str | None
    klass: str | None
    priority: int
    created_at: datetime
    attempts: int = 0


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
    )


async def insert(run: Run) -> None:
    await run.save().run()


async def load_queued(limit: int = 5000) -> list[QueuedRun]:
    rows = (
        await Run.select(Run.id, Run.user, Run.room, Run.klass, Run.priority, Run.created_at, Run.attempts)
        .where(Run.status == "queued")
        .order_by(Run.created_at)
        .limit(limit)
        .run()
    )
    return [_queued(r) for r in rows]


async def load_spec(run_id: str) -> dict[str, Any] | None:
    """The program of a run (files, entry, stdin, args) as the slot takes it."""
    row = (
        await Run.select(Run.files, Run.entry, Run.stdin, Run.args, Run.status)
        .where(Run.id == uuid.UUID(run_id))
        .first()
        .run()
    )
    if row is None:
        return None
    files = row["files"]
    if isinstance(files, str):
        import json

        files = json.loads(files)
    args = row["args"]
    if isinstance(args, str):
        import json

        args = json.loads(args)
    interactive = bool(files.pop(INTERACTIVE_KEY, False)) if isinstance(files, dict) else False
    return {"files": files, "entry": row["entry"], "stdin": row["stdin"], "args": args, "interactive": interactive}


async def claim(run_id: str, token: str, lease_seconds: float) -> int | None:
    """Take a queued run for ``token``; the attempt number if taken, None if someone else has it."""
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


async def renew(tokens: list[str], lease_seconds: float) -> None:
    if tokens:
        await (
            Run.update({Run.lease_expires_at: _now() + timedelta(seconds=lease_seconds)})
            .where(Run.slot.is_in(tokens) & (Run.status == "running"))
            .run()
        )


async def requeue(run_id: str, token: str, reason: str, *, count_attempt: bool = True) -> bool:
    """Put a running run back in the queue (its slot failed, or its dispatcher is stopping)."""
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


async def finish(run_id: str, result: dict[str, Any], *, token: str | None = None, only_queued: bool = False) -> bool:
    """Record the final result once. With ``token``: only that attempt may; with ``only_queued``: a run that
    never started (cancelled in the queue, or failed for good). True if this call recorded it."""
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


def internal_error(reason: str) -> dict[str, Any]:
    return {"verdict": "internal_error", "internal_reason": reason, "detail": reason}


async def recover_expired(max_attempts: int = MAX_ATTEMPTS) -> tuple[list[str], list[str]]:
    """Runs whose dispatcher stopped renewing their lease: requeue them, or fail those out of attempts."""
    now = _now()
    expired = (
        await Run.select(Run.id, Run.attempts, Run.slot)
        .where((Run.status == "running") & (Run.lease_expires_at < now))
        .run()
    )
    requeued, failed = [], []
    for row in expired:
        run_id, token = str(row["id"]), str(row["slot"])
        if int(row["attempts"] or 0) >= max_attempts:
            reason = f"gave up after {row['attempts']} attempts: the last one's dispatcher stopped ({token})"
            if await finish(run_id, internal_error(reason), token=token):
                failed.append(run_id)
        elif await requeue(run_id, token, f"lease of {token} expired"):
            requeued.append(run_id)
    return requeued, failed
