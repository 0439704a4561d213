"""Run traffic between web replicas, so that any request may land on any replica.

A run is dispatched by one replica (the *owner*: its dispatcher holds the run, its hub has the output). A client
may submit on one replica, stream on a second and send stdin or cancel on a third. With Redis configured:

- **control** (``stdin``, ``eof``, ``cancel``, ``watch``) goes on one channel every replica reads, :data:`CONTROL`;
  only the owner acts on it, in the order sent (one task applies them one after another). Input for a run that is
  still queued is kept by every replica that holds it in memory, so whichever claims it has it;
- **output** of a watched run goes on the run's own channel (:data:`OUT` + run id) as ``{seq, m}``: a replica
  whose client streams a run it does not own subscribes there and sends ``watch``; the owner answers with the
  run's history so far and then relays every new message. Sequence numbers let a follower drop what it already
  has (another follower's ``watch`` replays the history again).

Pub/sub delivers at most once: a follower that hears nothing asks again (``watch`` is idempotent), and the runs
row stays the source of truth for the final result. Without Redis, :class:`LocalRelay` does nothing: every
client of a run then reaches the one process that runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from actors.dispatcher import Dispatcher
from classroom.components import Health
from classroom.runs.hub import RunHub, echo_stdin

log = logging.getLogger(__name__)

CONTROL = "classroom:runs:control"
OUT = "classroom:runs:out:"
OPS = ("stdin", "eof", "cancel", "watch")
Numbered = tuple[int, dict[str, Any]]


class RunOwner(Protocol):
    """What the relay needs of this replica's run service (:class:`~classroom.runs.service.RunService`)."""

    hub: RunHub
    dispatcher: Dispatcher | None


class LocalRelay:
    """One process: nothing to carry. :attr:`crosses` tells the routes whether following another replica helps."""

    name = "run-relay"
    required = False
    crosses = False

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def check(self) -> Health:
        return Health(True, "in-process (no other replicas)")

    def control(self, run_id: str, op: str, data: str | None = None) -> None:
        return None

    @contextlib.asynccontextmanager
    async def follow(self, run_id: str) -> AsyncIterator[asyncio.Queue[Numbered]]:
        yield asyncio.Queue()


class RedisRunRelay(LocalRelay):
    """The relay over Redis pub/sub (one subscriber connection; publishes go out in order through one queue)."""

    required = True
    crosses = True

    def __init__(self, client: Any, service: RunOwner, *, prefix: str = "") -> None:
        self.client = client
        self.service = service
        self.control_channel = prefix + CONTROL
        self.out_prefix = prefix + OUT
        self._pubsub: Any = None
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._orders: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._followers: dict[str, set[asyncio.Queue[Numbered]]] = {}
        self._watched: set[str] = set()  # runs we own whose output another replica wants
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.control_channel)
        self.service.hub.on_publish = self._relay_output
        self._tasks = [
            asyncio.create_task(self._receive_loop(), name="run-relay-receive"),
            asyncio.create_task(self._send_loop(), name="run-relay-send"),
            asyncio.create_task(self._apply_loop(), name="run-relay-apply"),
        ]

    async def stop(self) -> None:
        self.service.hub.on_publish = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()

    async def check(self) -> Health:
        alive = all(not t.done() for t in self._tasks)
        return Health(alive, "relaying over Redis" if alive else "the relay's tasks stopped")

    # -- any replica ----------------------------------------------------------------------------------------------

    def control(self, run_id: str, op: str, data: str | None = None) -> None:
        """Ask the owner of ``run_id`` (whichever replica it is, this one included) to apply ``op``."""
        self._publish(self.control_channel, {"run": run_id, "op": op, "data": data})

    @contextlib.asynccontextmanager
    async def follow(self, run_id: str) -> AsyncIterator[asyncio.Queue[Numbered]]:
        """Subscribe to the run's output, then ask its owner for it; yields a queue of ``(seq, message)``."""
        queue: asyncio.Queue[Numbered] = asyncio.Queue()
        followers = self._followers.setdefault(run_id, set())
        if not followers:
            await self._pubsub.subscribe(self.out_prefix + run_id)
        followers.add(queue)
        self.control(run_id, "watch")
        try:
            yield queue
        finally:
            followers.discard(queue)
            if not followers:
                self._followers.pop(run_id, None)
                with contextlib.suppress(Exception):
                    await self._pubsub.unsubscribe(self.out_prefix + run_id)

    # -- the owner ------------------------------------------------------------------------------------------------

    def _relay_output(self, run_id: str, seq: int, message: dict[str, Any]) -> None:
        if run_id in self._watched:
            self._publish(self.out_prefix + run_id, {"seq": seq, "m": message})
            if message["type"] == "exit":
                self._watched.discard(run_id)

    async def _apply(self, order: dict[str, Any]) -> None:
        run_id, op = order["run"], order["op"]
        dispatcher = self.service.dispatcher
        if dispatcher is None or not dispatcher.is_local(run_id):
            return  # not ours: the owner (if any) acts on it
        if op == "watch":
            if not dispatcher.runs_here(run_id):
                return  # queued here, maybe claimed elsewhere: whoever claims it answers the follower's next ask
            history = self.service.hub.numbered_history(run_id)
            if not any(m["type"] == "exit" for _, m in history):
                self._watched.add(run_id)
            for seq, message in history:
                self._publish(self.out_prefix + run_id, {"seq": seq, "m": message})
        elif op == "stdin" and isinstance(order.get("data"), str):
            await dispatcher.send_stdin(run_id, order["data"])
            if dispatcher.runs_here(run_id):  # the echo belongs to the run's stream, which only its runner has
                echo_stdin(self.service.hub, run_id, order["data"])
        elif op == "eof":
            await dispatcher.send_stdin(run_id, None)
        elif op == "cancel":
            await dispatcher.cancel(run_id)

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _publish(self, channel: str, payload: dict[str, Any]) -> None:
        self._outbox.put_nowait((channel, json.dumps(payload).encode()))

    async def _send_loop(self) -> None:
        while True:
            channel, data = await self._outbox.get()
            try:
                await self.client.publish(channel, data)
            except Exception:  # Redis away: this message is lost (at most once); the row still tells the end
                log.warning("run relay: could not publish on %s", channel, exc_info=True)

    async def _apply_loop(self) -> None:
        while True:
            order = await self._orders.get()
            try:
                await self._apply(order)
            except Exception:
                log.exception("run relay: applying %s failed", order.get("op"))

    async def _receive_loop(self) -> None:
        # get_message with a timeout, as collab's replica bus does: subscribe() and unsubscribe() may be called by
        # other tasks between two reads.
        while True:
            try:
                raw = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("run relay: receive failed: %s", exc)
                await asyncio.sleep(1.0)
                continue
            if raw is not None:
                self._deliver(raw)

    def _deliver(self, raw: dict[str, Any]) -> None:
        if raw.get("type") != "message":
            return
        channel = raw["channel"].decode() if isinstance(raw["channel"], bytes) else str(raw["channel"])
        try:
            payload = json.loads(raw["data"])
        except ValueError:
            return
        if not isinstance(payload, dict):
            return
        if channel == self.control_channel:
            if isinstance(payload.get("run"), str) and payload.get("op") in OPS:
                self._orders.put_nowait(payload)
        elif channel.startswith(self.out_prefix) and isinstance(payload.get("seq"), int):
            for queue in self._followers.get(channel[len(self.out_prefix) :], ()):
                queue.put_nowait((payload["seq"], payload["m"]))
