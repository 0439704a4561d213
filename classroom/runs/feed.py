"""The room feed: what every open page of a room learns about the room's runs (and forks), pushed.

A run started in a room is the room's business: the pair partner and the demo's viewers see it start, stream its
output (each page opens the run's own stream) and see it land in "Recent runs" the moment it finishes. This
module is the fan-out of those events: :meth:`RoomFeed.publish` delivers to this process's subscribers of the
room at once and, when Redis is configured, to every other replica over one pub/sub channel
(:data:`CHANNEL`, JSON ``{origin, room, event}``; a replica ignores its own messages). Delivery is best effort,
like every pub/sub: a page that reconnects asks for a fresh snapshot.

Events (dicts with a ``type``):

- ``{"type": "run", "run": {id, user_id, display_name, status, verdict, exit_code, wall_ms, created_at,
  finished_at}}`` — a run was accepted (status ``queued``/``running``) or finished (``finished``; then also
  ``kind``, ``run`` or ``grade`` for a check, and ``score``, a check's fraction of the points).
- ``{"type": "forked", "by": name, "count": n}`` — the instructor copied the demo into every student's room.

:class:`RoomFeed` is a component (``required`` False: without Redis, or with Redis down, the feed still works on
this replica).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from typing import Any

from classroom.components import Health

log = logging.getLogger(__name__)

CHANNEL = "classroom:rooms:feed"
QUEUE_LIMIT = 256  # events a slow page may lag behind before it is dropped (it reconnects and resyncs)

Event = dict[str, Any]


class RoomFeed:
    """Subscribers per room on this process, plus the Redis relay between replicas."""

    name = "room-feed"
    required = False

    def __init__(self, redis_client: Any | None = None, *, channel: str = CHANNEL) -> None:
        self._redis = redis_client
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._subscribers: dict[str, set[asyncio.Queue[Event | None]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self.error: str | None = None

    # -- component -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._redis is None:
            return
        self._task = asyncio.create_task(self._listen(), name="room-feed-listen")
        self._sender = asyncio.create_task(self._send_loop(), name="room-feed-send")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=3)

    async def stop(self) -> None:
        for task in (self._task, self._sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)

    async def check(self) -> Health:
        if self._redis is None:
            return Health(True, "in-process")
        if self.error:
            return Health(False, self.error)
        return Health(True, "subscribed" if self._ready.is_set() else "subscribing")

    # -- subscribers ---------------------------------------------------------------------------------------
    def subscribe(self, room_id: str) -> asyncio.Queue[Event | None]:
        """A queue of the room's events; ``None`` in it means the feed stopped (or the page fell behind)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers[room_id].add(queue)
        return queue

    def unsubscribe(self, room_id: str, queue: asyncio.Queue[Event | None]) -> None:
        queues = self._subscribers.get(room_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[room_id]

    def subscribers(self, room_id: str) -> int:
        return len(self._subscribers.get(room_id, ()))

    # -- publishing ----------------------------------------------------------------------------------------
    def publish(self, room_id: str, event: Event) -> None:
        """Deliver ``event`` to the room's pages here and (with Redis) on every other replica. Never waits."""
        self._deliver(room_id, event)
        if self._redis is not None:
            self._outbox.put_nowait(json.dumps({"origin": self.origin, "room": room_id, "event": event}, default=str))

    def _deliver(self, room_id: str, event: Event) -> None:
        for queue in list(self._subscribers.get(room_id, ())):
            if queue.qsize() >= QUEUE_LIMIT:
                # A page that stopped reading must not grow the server's memory: end its feed, it resyncs.
                self._subscribers[room_id].discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait(event)

    async def _send_loop(self) -> None:
        assert self._redis is not None
        while True:
            message = await self._outbox.get()
            try:
                await self._redis.publish(self.channel, message)
            except Exception as exc:  # this replica's pages already have it; the others miss one event
                log.warning("room feed: could not publish to Redis: %s", exc)

    async def _listen(self) -> None:
        assert self._redis is not None
        while True:  # a control loop: resubscribe after a Redis failure instead of dying
            try:
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(self.channel)
                self._ready.set()
                self.error = None
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._handle(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("room feed: subscription failed (%s); retrying in 1 s", self.error)
                await asyncio.sleep(1)

    def _handle(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            if message.get("origin") == self.origin:
                return
            room, event = message["room"], message["event"]
            if not isinstance(room, str) or not isinstance(event, dict):
                raise ValueError("room must be a string and event an object")
        except (ValueError, KeyError, TypeError):
            log.warning("room feed: ignoring a malformed message")
            return
        self._deliver(room, event)
