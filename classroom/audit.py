"""The audit trail: one row per sign-in, join, removal, token and run. Writing it never fails the request."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from classroom.tables import AuditLog

log = logging.getLogger(__name__)


async def record(
    action: str,
    *,
    actor: uuid.UUID | None = None,
    class_id: uuid.UUID | None = None,
    target: str | None = None,
    ip: str | None = None,
    **detail: Any,
) -> None:
    """Append an audit row. ``action`` is dotted (``signin.ok``, ``class.join``, ``run.finished``...)."""
    try:
        await (
            AuditLog(
                id=uuid.uuid4(),
                actor=actor,
                action=action,
                klass=class_id,
                target=target,
                ip=ip,
                detail=detail,
                created_at=datetime.now(UTC),
            )
            .save()
            .run()
        )
    except Exception:  # the audit trail must not turn a sign-in into a 500; the log keeps the evidence
        log.exception("could not write audit row %s for %s", action, actor)


async def record_run(
    *,
    user: uuid.UUID,
    class_id: uuid.UUID | None,
    room_id: uuid.UUID | None,
    run_id: uuid.UUID,
    code_hash: str,
    verdict: str | None,
    wall_ms: int | None,
    cpu_ms: int | None,
    queued_ms: int | None = None,
) -> None:
    """The audit row of a finished run (the runs API calls this once per run)."""
    await record(
        "run.finished",
        actor=user,
        class_id=class_id,
        target=str(run_id),
        room=None if room_id is None else str(room_id),
        code_hash=code_hash,
        verdict=verdict,
        wall_ms=wall_ms,
        cpu_ms=cpu_ms,
        queued_ms=queued_ms,
    )
