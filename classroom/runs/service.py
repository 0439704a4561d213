"""The run service of the web process: accepts runs, owns the dispatcher and streams results to subscribers.

A component of the app (:mod:`classroom.components`): ``start`` creates the fleet of slot actors and the
dispatcher (when Ray is connected), ``stop`` stops both (runs in flight go back to the queue at once), and
``check`` says whether runs can be served. It is the dispatcher's :class:`~actors.dispatcher.RunEvents`: it
turns the dispatcher's events into stream messages (:class:`~classroom.runs.hub.RunHub`), audit rows (written in
batches, off the hot path) and analytics outcomes (batched, fire and forget).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.dispatcher import Dispatcher, outcome
from actors.outcomes import OutcomeBatcher, ray_sender
from actors.queue import INTERACTIVE_KEY, QueuedRun
from classroom.components import Health
from classroom.errors import BadRequest, Unavailable
from classroom.runs.hub import RunHub
from classroom.settings import Settings
from classroom.stores.run_queue import PiccoloRunQueue
from classroom.tables import AuditLog, Run

log = logging.getLogger(__name__)


AUDIT_FLUSH_SECONDS = 0.5
EXIT_FIELDS = (
    "verdict",
    "exit_code",
    "signal",
    "wall_ms",
    "cpu_ms",
    "peak_memory_bytes",
    "stdout_truncated",
    "stderr_truncated",
    "error",
    "detail",
)


def slot_args(settings: Settings) -> dict[str, Any]:
    """How each execution slot is built from the settings: backend, warm pool size and the default limits."""
    mib = 1024 * 1024
    return {
        "backend": settings.sandbox_backend,
        "warm": max(1, settings.warm_sandboxes),
        "limits": {
            "wall_seconds": float(settings.run_wall_seconds),
            "cpu_seconds": float(settings.run_cpu_seconds),
            "memory_bytes": settings.run_memory_mb * mib,
            "output_bytes": settings.run_output_kb * 1024,
        },
    }


def exit_message(result: dict[str, Any]) -> dict[str, Any]:
    return {"type": "exit", **{k: result.get(k) for k in EXIT_FIELDS}}


class RunService:
    """The ``runs`` component. ``dispatcher`` is None when the execution plane is off (runs answer 503)."""

    name = "runs"
    required = False

    def __init__(self, settings: Settings, *, lease_seconds: float = 30.0, tick_seconds: float = 1.0) -> None:
        self.settings = settings
        self.lease_seconds = lease_seconds
        self.tick_seconds = tick_seconds
        self.hub = RunHub(max_bytes=settings.run_output_kb * 1024 * 2)
        self.queue = PiccoloRunQueue()
        self.dispatcher: Dispatcher | None = None
        self.outcomes: OutcomeBatcher | None = None
        self.off_reason = "the execution plane is off (CLASSROOM_START_RAY=false)"
        self._audit: list[str] = []
        self._audit_task: asyncio.Task[None] | None = None

    # -- component --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        import ray

        self._audit_task = asyncio.create_task(self._audit_loop(), name="runs-audit")
        if not self.settings.start_ray:
            return
        if not ray.is_initialized():
            self.off_reason = "Ray is not connected (see /readyz)"
            return
        from actors.fleet import RayFleet

        fleet = RayFleet(slot_args(self.settings))
        self.dispatcher = Dispatcher(
            fleet,
            self.queue,
            events=self,
            lease_seconds=self.lease_seconds,
            tick_seconds=self.tick_seconds,
            run_timeout=self.settings.run_wall_seconds + 60.0,
        )
        fleet.on_change = self.dispatcher.wake
        self.outcomes = OutcomeBatcher(ray_sender(self.settings.ray_namespace))
        await self.outcomes.start()
        await self.dispatcher.start()

    async def stop(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop(graceful=True)
        if self.outcomes is not None:
            await self.outcomes.stop()
        if self._audit_task is not None:
            self._audit_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._audit_task
        await self._flush_audit()

    async def check(self) -> Health:
        if self.dispatcher is None:
            return Health(False, self.off_reason)
        reason = self.dispatcher.fleet.unusable_reason()
        snap = self.dispatcher.snapshot()
        pool_stats = getattr(self.dispatcher.fleet, "pool_stats", None)
        if pool_stats is not None:
            snap["pools"] = await pool_stats()
        latencies = sorted(self.hub.first_output_ms)
        if latencies:
            snap["first_output_ms_p50"] = round(latencies[len(latencies) // 2], 1)
            snap["first_output_ms_p99"] = round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1)
        if reason:
            return Health(False, reason, snap)
        if not snap["slots_ready"]:
            return Health(False, "execution slots are starting; runs wait in the queue", snap)
        return Health(True, f"{snap['slots_ready']} slot(s) ready, {snap['queued']} queued", snap)

    # -- submitting -------------------------------------------------------------------------------------------

    def require_dispatcher(self) -> Dispatcher:
        if self.dispatcher is None:
            raise Unavailable(f"runs are unavailable: {self.off_reason}")
        reason = self.dispatcher.fleet.unusable_reason()
        if reason:
            raise Unavailable(f"runs are unavailable: {reason}")
        return self.dispatcher

    async def submit(
        self,
        *,
        user_id: str,
        files: dict[str, str],
        entry: str,
        stdin: str,
        args: list[str],
        interactive: bool,
        room_id: str | None = None,
        class_id: str | None = None,
        priority: int = 0,
        state_vector: bytes | None = None,
    ) -> tuple[str, str, int]:
        """Insert the run's row (the run is accepted once this returns) and hand it to the dispatcher.
        Returns its id, status (``running`` when it started at once) and queue position."""
        dispatcher = self.require_dispatcher()
        check_files(files, entry)
        run_id = uuid.uuid4()
        now = datetime.now(UTC)
        stored = {**files, INTERACTIVE_KEY: True} if interactive else dict(files)
        row = Run(
            id=run_id,
            user=uuid.UUID(user_id),
            klass=None if class_id is None else uuid.UUID(class_id),
            room=None if room_id is None else uuid.UUID(room_id),
            status="queued",
            priority=priority,
            files=stored,
            entry=entry,
            stdin=stdin,
            args=args,
            code_hash=code_hash(files, entry),
            state_vector=state_vector,
            created_at=now,
        )
        rid = str(run_id)
        spec = {"files": files, "entry": entry, "stdin": stdin, "args": args, "interactive": interactive}
        queued = QueuedRun(rid, user_id, room_id, class_id, priority, now)
        self.hub.open(rid, {"user": user_id, "room": room_id, "klass": class_id})
        token = dispatcher.start_now(queued, spec)
        if token is not None:  # a free slot and nobody waiting: the slot starts while the row is written
            row.status, row.slot, row.attempts, row.started_at = "running", token, 1, now
            row.lease_expires_at = now + timedelta(seconds=self.lease_seconds)
        try:
            await self.queue.insert(row)
        except BaseException:
            if token is not None:
                dispatcher.abort(rid)
            raise
        if token is not None:
            dispatcher.confirm(rid)
            return rid, "running", 0
        return rid, "queued", dispatcher.accept(queued, spec)

    # -- the dispatcher's events --------------------------------------------------------------------------------

    def started(self, run_id: str, attempt: int, slot: str) -> None:
        self.hub.publish(run_id, {"type": "started", "attempt": attempt})

    def output(self, run_id: str, chunks: list[list[str]]) -> None:
        for stream, text in chunks:
            self.hub.publish(run_id, {"type": stream, "data": text})

    def retry(self, run_id: str, attempt: int, reason: str) -> None:
        self.hub.publish(run_id, {"type": "retry", "attempt": attempt, "reason": reason})

    def finished(self, run_id: str, result: dict[str, Any], run: QueuedRun | None) -> None:
        self.hub.publish(run_id, exit_message(result))
        if self.outcomes is not None and run is not None:
            self.outcomes.add(outcome(run, run_id, result))
        self._audit.append(run_id)

    # -- audit: one row per finished run, written in batches ---------------------------------------------------

    async def _audit_loop(self) -> None:
        while True:
            await asyncio.sleep(AUDIT_FLUSH_SECONDS)
            try:
                await self._flush_audit()
            except Exception:
                log.exception("runs: writing audit rows failed; will retry")

    async def _flush_audit(self) -> None:
        if not self._audit:
            return
        ids, self._audit = self._audit[:500], self._audit[500:]
        rows = (
            await Run.select(
                Run.id,
                Run.user,
                Run.klass,
                Run.room,
                Run.code_hash,
                Run.verdict,
                Run.attempts,
                Run.wall_ms,
                Run.cpu_ms,
                Run.created_at,
                Run.started_at,
                Run.finished_at,
            )
            .where(Run.id.is_in([uuid.UUID(i) for i in ids]))
            .run()
        )
        entries = [
            AuditLog(
                id=uuid.uuid4(),
                actor=r["user"],
                action="run",
                klass=r["klass"],
                target=str(r["id"]),
                detail=json.loads(
                    json.dumps(
                        {
                            "room": r["room"],
                            "code_hash": r["code_hash"],
                            "verdict": r["verdict"],
                            "attempts": r["attempts"],
                            "wall_ms": r["wall_ms"],
                            "cpu_ms": r["cpu_ms"],
                            "created_at": r["created_at"],
                            "started_at": r["started_at"],
                            "finished_at": r["finished_at"],
                        },
                        default=str,
                    )
                ),
                created_at=datetime.now(UTC),
            )
            for r in rows
        ]
        if entries:
            await AuditLog.insert(*entries).run()


def check_files(files: dict[str, str], entry: str) -> None:
    """A precise 400 for file sets the sandbox would refuse."""
    from execution.types import check_relative_path

    if not files:
        raise BadRequest("files: at least one file is needed")
    for name in files:
        try:
            check_relative_path(name)
        except ValueError as exc:
            raise BadRequest(f"files: {exc}") from None
    if entry not in files:
        raise BadRequest(f"entry: {entry!r} is not among the files ({', '.join(sorted(files)[:10])})")
    if sum(len(c.encode()) for c in files.values()) > 2 * 1024 * 1024:
        raise BadRequest("files: more than 2 MiB of code")


def code_hash(files: dict[str, str], entry: str) -> str:
    digest = hashlib.sha256(entry.encode() + b"\0")
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()
