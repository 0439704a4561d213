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
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette

from actors.dispatcher import Dispatcher, outcome
from actors.outcomes import OutcomeBatcher, ray_sender
from actors.queue import INTERACTIVE_KEY, LIMITS_KEY, QueuedRun
from classroom.components import Health
from classroom.errors import BadRequest, Unavailable
from classroom.events import Audience, ClassEvents
from classroom.events.runs import run_event
from classroom.metrics import Metrics
from classroom.runs.feed import RoomFeed
from classroom.runs.hub import RunHub
from classroom.runs.relay import LocalRelay, RedisRunRelay
from classroom.runs.schemas import MAX_FILE_CHARS, MAX_FILES, MAX_NAME
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
    "grade",
    "fraction",
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
        self.relay: LocalRelay = LocalRelay()  # replaced by the Redis relay when replicas share Redis
        self.queue = PiccoloRunQueue()
        self.dispatcher: Dispatcher | None = None
        self.events: ClassEvents | None = None  # the class event bus: run outcomes reach the class's pages
        self.outcomes: OutcomeBatcher | None = None
        self.metrics: Metrics | None = None
        self._submitted: dict[str, float] = {}  # run id -> monotonic submit time, until it starts (queue wait)
        self.off_reason = "the execution plane is off (CLASSROOM_START_RAY=false)"
        self._audit: list[str] = []
        self._audit_task: asyncio.Task[None] | None = None
        self.feed: RoomFeed | None = None  # set by install(): runs of a room reach its pages
        # Hooks called with (run id, result) after a run's result is recorded by this process's dispatcher.
        self.on_finished: list[Callable[[str, dict[str, Any]], None]] = []

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
        slots = getattr(self.dispatcher.fleet, "slots", None)
        if callable(slots):  # RayFleet: which node each slot lives on: an operator's (and the cluster tests') view
            snap["slot_hosts"] = {name: s.get("host", "") for name, s in slots().items() if s.get("ok")}
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

    async def gauges(self) -> dict[str, float]:
        """The run plane's gauges for ``/metrics`` (a :class:`~classroom.metrics.Metrics` source)."""
        if self.dispatcher is None:
            return {}
        snap = self.dispatcher.snapshot()
        ready, running = int(snap["slots_ready"]), int(snap["running"])
        found: dict[str, float] = {
            "queue_depth": snap["queued"],
            "runs_running": running,
            "slots_ready": ready,
            "slots_busy": min(ready, running),
            "slots_free": max(0, ready - running),
        }
        pool_stats = getattr(self.dispatcher.fleet, "pool_stats", None)
        if pool_stats is not None:
            pools = await pool_stats()
            found |= {"warm_pool_sandboxes": pools["warm"], "warm_pool_hits": pools["warm_hits"]}
            found["cold_starts"] = pools["cold_starts"]
        return found

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
        limits: dict[str, float] | None = None,
        run_id: uuid.UUID | None = None,
        exercise: str | None = None,
        lesson: tuple[Any, bool] | None = None,
        grade: tuple[Any, dict[str, Any]] | None = None,
    ) -> tuple[str, str, int]:
        """Insert the run's row (the run is accepted once this returns) and hand it to the dispatcher.
        Returns its id, status (``running`` when it started at once) and queue position.

        ``limits`` (names of :data:`execution.types.LOWERABLE`) may only lower the slot's limits, never lift
        them; they are stored with the run, so a retry or a restart keeps them. ``exercise`` is the room's lesson
        (``course/slug``) and ``lesson`` = (its current version's id, whether it has hidden tests), for analytics;
        ``grade`` = (lesson version id, grade spec) makes it a check: the same queue, slots and limits, with the
        lesson's hidden tests (never stored in the row)."""
        dispatcher = self.require_dispatcher()
        check_files(files, entry, "the room's files" if room_id is not None else "files")
        run_id = run_id or uuid.uuid4()
        now = datetime.now(UTC)
        stored: dict[str, Any] = {**files, INTERACTIVE_KEY: True} if interactive else dict(files)
        if limits:
            stored[LIMITS_KEY] = dict(limits)
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
            exercise=exercise,
            kind="run" if grade is None else "grade",
            lesson=grade[0] if grade is not None else lesson[0] if lesson is not None else None,
        )
        rid = str(run_id)
        spec: dict[str, Any] = {
            "files": files,
            "entry": entry,
            "stdin": stdin,
            "args": args,
            "interactive": interactive,
        }
        if limits:
            spec["limits"] = dict(limits)
        if grade is not None:
            spec["grade"] = grade[1]
        graded = grade is not None or (lesson is not None and lesson[1])
        queued = QueuedRun(rid, user_id, room_id, class_id, priority, now, 0, str(row.kind), exercise, graded)
        self.hub.open(rid, {"user": user_id, "room": room_id, "klass": class_id, "kind": str(row.kind)})
        self._submitted[rid] = time.monotonic()
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
        submitted = self._submitted.pop(run_id, None)
        if self.metrics is not None and submitted is not None:
            self.metrics.run_started(time.monotonic() - submitted)
        self.hub.publish(run_id, {"type": "started", "attempt": attempt})

    def output(self, run_id: str, chunks: list[list[str]]) -> None:
        for stream, text in chunks:
            self.hub.publish(run_id, {"type": stream, "data": text})

    def retry(self, run_id: str, attempt: int, reason: str) -> None:
        self.hub.publish(run_id, {"type": "retry", "attempt": attempt, "reason": reason})

    def finished(self, run_id: str, result: dict[str, Any], run: QueuedRun | None) -> None:
        meta = self.hub.meta(run_id) or {}
        self.hub.publish(run_id, exit_message(result))
        self._submitted.pop(run_id, None)
        if self.metrics is not None and run is not None:
            took = (datetime.now(UTC) - run.created_at).total_seconds()
            self.metrics.run_finished(str(result.get("verdict")), took)
        room_id = run.room if run is not None else meta.get("room")
        user_id = run.user if run is not None else meta.get("user")
        if room_id is not None and user_id is not None:
            # The result row is written before this event: a page may fetch it as soon as it hears of it.
            self.announce(
                str(room_id),
                {
                    "id": run_id,
                    "user_id": str(user_id),
                    "status": "finished",
                    # a check's end moves the room's standing: its pages read it again (the Check panel)
                    "kind": run.kind if run is not None else meta.get("kind", "run"),
                    "score": result.get("fraction"),
                    "verdict": result.get("verdict"),
                    "exit_code": result.get("exit_code"),
                    "wall_ms": result.get("wall_ms"),
                    "created_at": None if run is None else run.created_at.isoformat(),
                    "finished_at": datetime.now(UTC).isoformat(),
                },
            )
        if self.events is not None and run is not None and run.klass is not None:
            error = result.get("error") or {}
            row = {
                "id": run_id,
                "user": run.user,
                "room": run.room,
                "verdict": result.get("verdict"),
                "error_type": error.get("type"),
                "error_message": error.get("message"),
                "error_line": error.get("line"),
                "finished_at": datetime.now(UTC).isoformat(),
            }
            # The run's owner and whoever may open its room (pair partner, demo viewers) and the instructors.
            audience = Audience(users=(str(run.user),), room=None if run.room is None else str(run.room))
            self.events.publish(run.klass, {"type": "run", "run": run_event(row)}, audience)
        if self.outcomes is not None and run is not None:
            self.outcomes.add(outcome(run, run_id, result))
        self._audit.append(run_id)
        for hook in self.on_finished:
            try:
                hook(run_id, result)
            except Exception:  # a hook's failure is its own; the run is recorded and streamed regardless
                log.exception("runs: a finished-run hook failed for %s", run_id)

    # -- waiting for a result -------------------------------------------------------------------------------

    async def wait_finished(self, run_id: str, seconds: float) -> Run | None:
        """The run's row once it is finished, or None if it is not finished within ``seconds``.

        A run this process dispatches is awaited on its stream (no query until it ends); a run another
        replica took over is followed through its row."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        subscription = self.hub.subscribe(run_id)
        if subscription is not None:
            history, live = subscription
            try:
                if not any(m["type"] == "exit" for m in history):
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(seconds):
                            while (await live.get())["type"] != "exit":
                                pass
            finally:
                self.hub.unsubscribe(run_id, live)
        while True:
            row = await Run.objects().where(Run.id == uuid.UUID(run_id)).first().run()
            if row is None or row.status == "finished":
                return row
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(min(0.25, max(0.0, deadline - loop.time())))

    def announce(self, room_id: str, summary: dict[str, Any]) -> None:
        """Tell the room's open pages (every replica) that a run of the room was accepted or finished."""
        if self.feed is not None:
            self.feed.publish(room_id, {"type": "run", "run": summary})

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


def check_files(files: dict[str, str], entry: str, source: str = "files") -> None:
    """A precise 400 for file sets the sandbox would refuse, whether they came in the body or from a room's
    document (``source`` names which in the message): the same count, name and size limits for both."""
    from execution.types import check_relative_path

    if not files:
        raise BadRequest(f"{source}: at least one file is needed")
    if len(files) > MAX_FILES:
        raise BadRequest(f"{source}: {len(files)} files; a run takes at most {MAX_FILES}")
    for name, content in files.items():
        if len(name) > MAX_NAME:
            raise BadRequest(f"{source}: a file name is longer than {MAX_NAME} characters")
        try:
            check_relative_path(name)
        except ValueError as exc:
            raise BadRequest(f"{source}: {exc}") from None
        if len(content) > MAX_FILE_CHARS:
            raise BadRequest(f"{source}: {name!r} is longer than {MAX_FILE_CHARS} characters")
    if entry not in files:
        raise BadRequest(f"entry: {entry!r} is not among the files ({', '.join(sorted(files)[:10])})")
    if sum(len(c.encode()) for c in files.values()) > 2 * 1024 * 1024:
        raise BadRequest(f"{source}: more than 2 MiB of code")


def code_hash(files: dict[str, str], entry: str) -> str:
    digest = hashlib.sha256(entry.encode() + b"\0")
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def install(app: Starlette, settings: Settings, parts: list[Any]) -> RunService:
    """Add the run service as a component (after Ray) and expose it as ``app.state.runs``; before it the room
    feed (``app.state.room_feed``: a room's runs pushed to its pages, relayed over Redis when configured); with
    Redis, after it the relay that lets stdin, cancel and output of a run reach every replica."""
    redis = next((p for p in parts if p.name == "redis"), None)
    feed = RoomFeed(None if redis is None else redis.client)
    service = RunService(settings)
    service.feed = feed
    parts.extend([feed, service])
    metrics: Metrics | None = getattr(app.state, "metrics", None)
    if metrics is not None:
        service.metrics = metrics
        metrics.add_source(service.gauges)
    if redis is not None:
        service.relay = RedisRunRelay(redis.client, service)
        parts.append(service.relay)
    app.state.runs = service
    app.state.room_feed = feed
    return service
