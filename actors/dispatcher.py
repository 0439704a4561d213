"""The dispatcher: takes queued runs in fair order, runs each on a free execution slot, records the result once.

It lives in the web process that owns the database queue (one per replica); the runs table is the truth and
every transition is a conditional write of the :class:`~actors.queue.RunQueue` the edge hands in, so several
replicas' dispatchers never take the same run and a result is written at most once. Its memory (the queued
runs, who is running) is a cache that the control loop reconciles with the table every tick.

The control loop wakes on every submit and every finished run (no polling on the hot path) and at least every
``tick_seconds`` to reconcile: slots with the cluster, expired leases back to the queue, own leases renewed,
the queue re-read. It logs and carries on; it never dies. Every task it starts is its own and cancelled by
:meth:`Dispatcher.stop`.

Faults: a slot that dies mid-run (:class:`~actors.fleet.SlotFailure`) makes the run go back to the queue
until ``max_attempts`` attempts, then it finishes ``internal_error`` with the reason. A dispatcher that dies
stops renewing its leases; any dispatcher's next reconcile puts those runs back in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from actors.fairness import Fairness
from actors.fleet import Fleet, SlotFailure
from actors.queue import MAX_ATTEMPTS, QueuedRun, RunQueue, internal_error

log = logging.getLogger(__name__)

PERSIST_ATTEMPTS = 8  # ~10 s of retries of one write


class RunEvents(Protocol):
    """What the dispatcher tells the web edge (fan-out to WebSocket subscribers, audit). Must not block."""

    def started(self, run_id: str, attempt: int, slot: str) -> None: ...

    def output(self, run_id: str, chunks: list[list[str]]) -> None: ...

    def retry(self, run_id: str, attempt: int, reason: str) -> None: ...

    def finished(self, run_id: str, result: dict[str, Any], run: QueuedRun | None) -> None: ...


class NullEvents:
    def started(self, run_id: str, attempt: int, slot: str) -> None:
        pass

    def output(self, run_id: str, chunks: list[list[str]]) -> None:
        pass

    def retry(self, run_id: str, attempt: int, reason: str) -> None:
        pass

    def finished(self, run_id: str, result: dict[str, Any], run: QueuedRun | None) -> None:
        pass


@dataclass
class _Flight:
    run: QueuedRun
    slot: str
    token: str
    attempt: int
    task: asyncio.Task[None] | None = None
    started: bool = False
    cancel_requested: bool = False
    stdin: list[str | None] = field(default_factory=list)  # None = close stdin
    # Fast path only: resolved once the run's row is committed; nothing is recorded before that.
    inserted: asyncio.Future[bool] | None = None


class Dispatcher:
    """Fair, durable dispatch of runs onto ``fleet``, recorded in ``queue``. Start with :meth:`start`, stop with
    :meth:`stop`."""

    def __init__(
        self,
        fleet: Fleet,
        queue: RunQueue,
        *,
        events: RunEvents | None = None,
        lease_seconds: float = 30.0,
        tick_seconds: float = 1.0,
        max_attempts: int = MAX_ATTEMPTS,
        run_timeout: float = 120.0,
        stuck_seconds: float = 60.0,
        dispatcher_id: str | None = None,
    ) -> None:
        self.fleet = fleet
        self.queue = queue
        self.events: RunEvents = events or NullEvents()
        self.lease_seconds = lease_seconds
        self.tick_seconds = tick_seconds
        self.max_attempts = max_attempts
        self.run_timeout = run_timeout  # a slot that neither answers nor dies: treated as failed
        self.stuck_seconds = stuck_seconds
        self.id = dispatcher_id or f"d-{uuid.uuid4().hex[:8]}"
        self.fairness = Fairness()
        self._queued: dict[str, QueuedRun] = {}
        self._specs: dict[str, dict[str, Any]] = {}
        self._flights: dict[str, _Flight] = {}
        # Hot-path runs whose row is still being inserted. Kept apart from ``_flights``: a run can end (and leave
        # ``_flights``) before its insert commits, and its result must still wait for, and then see, the commit.
        self._inserting: dict[str, asyncio.Future[bool]] = {}
        self._busy: dict[str, str] = {}  # slot -> run id
        self._slot_used: dict[str, int] = {}
        self._running_users: dict[str, int] = {}
        self._pending_stdin: dict[str, list[str | None]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_reconcile = 0.0
        self.stats = {"dispatched": 0, "finished": 0, "retried": 0, "failed": 0, "stale_results": 0}

    # -- life cycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name=f"dispatcher-{self.id}")

    async def stop(self, *, graceful: bool = True) -> None:
        """Stop the loop and every run in flight. ``graceful`` puts those runs back in the queue at once (without
        counting the attempt); otherwise they wait for their lease to expire, as after a crash."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        flights = list(self._flights.values())
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        for flight in flights:
            if graceful:
                with contextlib.suppress(Exception):
                    await self.queue.requeue(flight.run.id, flight.token, "dispatcher stopped", count_attempt=False)
        await self.fleet.close()

    def wake(self) -> None:
        self._wake.set()

    # -- the edge's calls -----------------------------------------------------------------------------------------

    def accept(self, run: QueuedRun, spec: dict[str, Any] | None = None) -> int:
        """A run whose queued row was just inserted: schedule it now. Returns its queue position."""
        self._queued[run.id] = run
        if spec is not None:
            self._specs[run.id] = spec
        self._wake.set()
        return self.position(run.id)

    def start_now(self, run: QueuedRun, spec: dict[str, Any]) -> str | None:
        """The hot path: when nothing waits, a slot is free and the user has no run in flight, start ``run``
        while its row is still being inserted (the insert and the slot's start overlap). Returns the claim token
        to write into the row (status ``running``, attempt 1), or None: insert it queued and :meth:`accept` it.
        The caller must then call :meth:`confirm` (row committed) or :meth:`abort` (insert failed)."""
        if self._queued or (run.priority <= 0 and self._running_users.get(run.user)):
            return None
        slot = self._free_slot()
        if slot is None:
            return None
        token = f"{self.id}/{slot}/{uuid.uuid4().hex[:6]}"
        flight = _Flight(run, slot, token, 1, inserted=asyncio.get_running_loop().create_future())
        assert flight.inserted is not None
        self._inserting[run.id] = flight.inserted
        self._specs[run.id] = spec
        self._launch(flight)
        return token

    def confirm(self, run_id: str) -> None:
        """The hot-path run's row is committed: its result (even one that came first) may now be recorded."""
        inserted = self._inserting.pop(run_id, None)
        if inserted is not None and not inserted.done():
            inserted.set_result(True)

    def abort(self, run_id: str) -> None:
        """The row of a fast-path run could not be written: stop the run; it was never accepted."""
        inserted = self._inserting.pop(run_id, None)
        if inserted is not None and not inserted.done():
            inserted.set_result(False)
        flight = self._flights.get(run_id)
        if flight is not None:
            if flight.task is not None:
                flight.task.cancel()
            self._release(flight)  # the task may be cancelled before it ever ran
        self._specs.pop(run_id, None)

    def position(self, run_id: str) -> int:
        return self.fairness.position(self._queued.values(), run_id)

    def is_local(self, run_id: str) -> bool:
        """Whether this dispatcher holds the run (queued in its memory or in flight)."""
        return run_id in self._queued or run_id in self._flights

    def runs_here(self, run_id: str) -> bool:
        """Whether this dispatcher claimed the run (in flight). A queued run may be in several replicas' memories
        until one claims it from the shared queue."""
        return run_id in self._flights

    async def cancel(self, run_id: str) -> bool:
        """Cancel a queued or running run; False if it already finished or runs under another dispatcher."""
        flight = self._flights.get(run_id)
        if flight is not None:
            flight.cancel_requested = True
            if flight.started:
                await self.fleet.cancel(flight.slot, run_id)
            return True
        run = self._queued.pop(run_id, None)
        result = {"verdict": "cancelled", "detail": "cancelled before it started"}
        if await self.queue.finish(run_id, result, only_queued=True):
            self._specs.pop(run_id, None)
            self._emit("finished", run_id, result, run)
            return True
        return False

    async def send_stdin(self, run_id: str, data: str | None) -> bool:
        """Feed stdin (``None`` closes it). Before the run starts the input is kept and sent when it does."""
        flight = self._flights.get(run_id)
        if flight is not None and flight.started:
            if data is None:
                return await self.fleet.close_stdin(flight.slot, run_id)
            return await self.fleet.send_stdin(flight.slot, run_id, data)
        if flight is not None:
            flight.stdin.append(data)
            return True
        if run_id in self._queued:
            self._pending_stdin.setdefault(run_id, []).append(data)
            return True
        return False

    def _emit(self, event: str, *args: Any) -> None:
        """Tell the edge; a failing hook is logged and never breaks a run."""
        try:
            getattr(self.events, event)(*args)
        except Exception:
            log.exception("dispatcher %s: the %s hook failed", self.id, event)

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "queued": len(self._queued),
            "running": len(self._flights),
            "slots_ready": len(self.fleet.ready()),
            **self.stats,
        }

    # -- the control loop -----------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                if time.monotonic() - self._last_reconcile >= self.tick_seconds:
                    self._last_reconcile = time.monotonic()
                    await self._reconcile()
                await self._dispatch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher %s: tick failed; carrying on", self.id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.tick_seconds)

    async def _reconcile(self) -> None:
        try:
            await self.fleet.reconcile(self._busy.keys())
        except Exception:
            log.exception("dispatcher %s: reconciling slots failed", self.id)
        await self.queue.renew([f.token for f in self._flights.values()], self.lease_seconds)
        requeued, failed = await self.queue.recover_expired(self.max_attempts)
        if requeued or failed:
            log.warning("dispatcher %s: recovered runs: requeued %s, failed %s", self.id, requeued, failed)
        for run_id in failed:
            self._emit("finished", run_id, internal_error("lease expired too often"), None)
        known = set(self._queued)
        loaded = {r.id: r for r in await self.queue.load_queued()}
        for run_id in known - set(loaded):
            self._queued.pop(run_id, None)  # taken by another dispatcher, or cancelled
        for run_id, run in loaded.items():
            if run_id not in self._queued and run_id not in self._flights:
                self._queued[run_id] = run
        await self._fail_stuck()

    async def _fail_stuck(self) -> None:
        """When no slot can run code (no backend passes its self-test, no node offers a slot), runs that waited
        longer than ``stuck_seconds`` finish as ``internal_error`` with the reason instead of waiting forever."""
        reason = self.fleet.unusable_reason()
        if reason is None:
            return
        oldest = datetime.now(UTC) - timedelta(seconds=self.stuck_seconds)
        for run in [r for r in self._queued.values() if r.created_at < oldest]:
            result = internal_error(f"no execution slot could run it: {reason}")
            if await self.queue.finish(run.id, result, only_queued=True):
                self._queued.pop(run.id, None)
                self._specs.pop(run.id, None)
                self.stats["failed"] += 1
                self._emit("finished", run.id, result, run)

    def _free_slot(self) -> str | None:
        free = [s for s in self.fleet.ready() if s not in self._busy]
        if not free:
            return None
        return min(free, key=lambda s: self._slot_used.get(s, 0))  # spread runs over slots (and nodes)

    async def _dispatch(self) -> None:
        while self._queued:
            slot = self._free_slot()
            if slot is None:
                return
            run = self.fairness.pick(self._queued.values(), self._running_users)
            if run is None:
                return
            del self._queued[run.id]
            token = f"{self.id}/{slot}/{uuid.uuid4().hex[:6]}"
            # Hold the slot and the user's turn across the claim's await: a submit's hot path must not take them.
            self._busy[slot] = run.id
            self._running_users[run.user] = self._running_users.get(run.user, 0) + 1
            try:
                attempt = await self.queue.claim(run.id, token, self.lease_seconds)
            except BaseException:
                self._queued.setdefault(run.id, run)
                raise
            finally:
                self._busy.pop(slot, None)
                self._unhold_user(run.user)
            if attempt is None:
                self._specs.pop(run.id, None)
                continue  # another dispatcher took it, or it was cancelled
            self._launch(_Flight(run, slot, token, attempt, stdin=self._pending_stdin.pop(run.id, [])))

    def _unhold_user(self, user: str) -> None:
        left = self._running_users.get(user, 1) - 1
        if left > 0:
            self._running_users[user] = left
        else:
            self._running_users.pop(user, None)

    def _launch(self, flight: _Flight) -> None:
        run = flight.run
        self.fairness.served(run)
        self._slot_used[flight.slot] = self.fairness.tick
        self._busy[flight.slot] = run.id
        self._running_users[run.user] = self._running_users.get(run.user, 0) + 1
        self._flights[run.id] = flight
        self.stats["dispatched"] += 1
        flight.task = asyncio.create_task(self._execute(flight), name=f"run-{run.id}")
        # Held until done: a run outlives its flight entry (recording, requeueing), and asyncio keeps only weak
        # references to tasks — an unreferenced pending task can be garbage-collected mid-write.
        self._tasks.add(flight.task)
        flight.task.add_done_callback(self._tasks.discard)

    def _release(self, flight: _Flight) -> None:
        """Free the flight's slot and its user's turn (once: every exit path of a run calls this)."""
        if self._flights.get(flight.run.id) is not flight:
            return
        del self._flights[flight.run.id]
        self._busy.pop(flight.slot, None)
        self._unhold_user(flight.run.user)
        self._wake.set()

    async def _execute(self, flight: _Flight) -> None:
        run_id = flight.run.id
        try:
            spec = self._specs.get(run_id) or await self.queue.load_spec(run_id)
            if spec is None:
                self._release(flight)
                return  # the row is gone (its user was deleted)
            try:
                async with asyncio.timeout(self.run_timeout):
                    result = await self._stream(flight, spec)
            except TimeoutError:
                reason = f"slot {flight.slot} gave no result within {self.run_timeout:g} s"
                await self.fleet.cancel(flight.slot, run_id)
                # Whatever holds it (a wedged process, a stream Ray lost), the slot would hold the next run the
                # same way: it leaves ready() until a new process passes its probe.
                await self.fleet.restart(flight.slot, reason)
                raise SlotFailure(reason) from None
        except SlotFailure as exc:
            self._release(flight)
            await self._retry_or_fail(flight, str(exc))
            return
        except asyncio.CancelledError:
            self._release(flight)
            raise
        except Exception as exc:
            log.exception("dispatcher %s: run %s failed on our side", self.id, run_id)
            self._release(flight)
            await self._retry_or_fail(flight, f"{type(exc).__name__}: {exc}")
            return
        self._release(flight)
        await self._record(flight, result)

    async def _stream(self, flight: _Flight, spec: dict[str, Any]) -> dict[str, Any]:
        run_id = flight.run.id
        result: dict[str, Any] | None = None
        async for item in self.fleet.stream(flight.slot, run_id, spec):
            kind = item.get("type")
            if kind == "output":
                self._emit("output", run_id, item["chunks"])
            elif kind == "started":
                await self._on_started(flight)
            elif kind == "result":
                result = item
            elif kind == "failed":
                raise SlotFailure(str(item.get("reason")))
            elif kind == "busy":
                raise SlotFailure(f"slot {flight.slot} was busy (with {item.get('running')})")
        if result is None:
            raise SlotFailure(f"slot {flight.slot} ended the run without a result")
        return result

    async def _on_started(self, flight: _Flight) -> None:
        flight.started = True
        self._emit("started", flight.run.id, flight.attempt, flight.slot)
        if flight.cancel_requested:
            await self.fleet.cancel(flight.slot, flight.run.id)
        for data in flight.stdin:
            if data is None:
                await self.fleet.close_stdin(flight.slot, flight.run.id)
            else:
                await self.fleet.send_stdin(flight.slot, flight.run.id, data)
        flight.stdin.clear()

    async def _committed(self, flight: _Flight) -> bool:
        return flight.inserted is None or await flight.inserted

    async def _record(self, flight: _Flight, result: dict[str, Any]) -> None:
        run_id = flight.run.id
        if not await self._committed(flight):
            return
        if await self._persist(lambda: self.queue.finish(run_id, result, token=flight.token), f"result of {run_id}"):
            self._specs.pop(run_id, None)
            self.stats["finished"] += 1
            self._emit("finished", run_id, result, flight.run)
        else:
            self.stats["stale_results"] += 1
            log.warning("dispatcher %s: dropped a stale result of run %s (%s)", self.id, run_id, flight.token)

    async def _persist(self, write: Callable[[], Awaitable[bool]], what: str) -> bool:
        """A run's write, retried through transient database errors (a locked SQLite, a failover). If it still
        fails, the lease expires and the run is recovered: at-least-once, never lost."""
        delay = 0.05
        for attempt in range(PERSIST_ATTEMPTS):
            try:
                return await write()
            except Exception as exc:
                if attempt == PERSIST_ATTEMPTS - 1:
                    log.error("dispatcher %s: giving up on the %s: %s; its lease will recover it", self.id, what, exc)
                    return False
                log.warning("dispatcher %s: the %s failed (%s); retrying", self.id, what, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        return False

    async def _retry_or_fail(self, flight: _Flight, reason: str) -> None:
        run_id = flight.run.id
        log.warning("dispatcher %s: run %s attempt %d failed: %s", self.id, run_id, flight.attempt, reason)
        if not await self._committed(flight):
            return
        if flight.cancel_requested:
            await self._record(flight, {"verdict": "cancelled", "detail": f"cancelled ({reason})"})
            return
        if flight.attempt >= self.max_attempts:
            self.stats["failed"] += 1
            await self._record(flight, internal_error(f"gave up after {flight.attempt} attempts: {reason}"))
            return
        busy = "was busy" in reason
        requeue = lambda: self.queue.requeue(run_id, flight.token, reason, count_attempt=not busy)  # noqa: E731
        if await self._persist(requeue, f"requeue of {run_id}"):
            self.stats["retried"] += 1
            flight.run.attempts = flight.attempt
            self._queued[run_id] = flight.run
            self._emit("retry", run_id, flight.attempt, reason)
            self._wake.set()


def outcome(run: QueuedRun | None, run_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """The analytics event of a finished run (fields of :mod:`analytics.outcome`)."""
    error = result.get("error") or {}
    return {
        "run_id": run_id,
        "user_id": run.user if run else None,
        "class_id": run.klass if run else None,
        "room_id": run.room if run else None,
        "exercise": run.exercise if run else None,
        "kind": run.kind if run else "run",
        "graded": bool(run.graded or run.kind == "grade") if run else False,
        "score": result.get("fraction"),
        "verdict": result.get("verdict"),
        "error_type": error.get("type"),
        "error_message": error.get("message"),
        "error_line": error.get("line"),
        "wall_ms": result.get("wall_ms"),
        "finished_at": datetime.now(UTC).isoformat(),
    }


OnFinished = Callable[[str, dict[str, Any], QueuedRun | None], None]
