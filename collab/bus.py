"""The replica bus: fan-out of room updates between web processes that serve the same room.

Routing: with a bus configured, any replica may serve any room — a client can land anywhere (round-robin is
fine) and every replica that has the room loaded applies the others' updates and awareness. Without a bus, all
connections of one room must reach the same process: route by room id at the proxy (e.g. nginx
``hash $request_uri consistent``), or run one web process.

Delivery is at-most-once (Redis pub/sub drops messages while a subscriber reconnects), so a replica asks the
others for what it lacks — ``SYNC_REQUEST`` carries its state vector, and each replica that holds the room
answers with the missing update — when it loads a room and every ``anti_entropy_seconds`` after. A replica that
loads a room also sends ``AWARENESS_REQUEST``: each replica that holds the room answers with the awareness of its
own clients, so cursors of people who are not moving show at once instead of at their next change. Each update is
logged by the replica that received it from a client; replicas that get it over the bus do not log it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable

import redis.asyncio as redis

log = logging.getLogger(__name__)

UPDATE = 0
AWARENESS = 1
SYNC_REQUEST = 2
AWARENESS_REQUEST = 3

Deliver = Callable[[str, int, bytes], None]
_ID_BYTES = 8


class ReplicaBus(ABC):
    """Publish a room's messages to the other replicas and deliver theirs. ``publish`` never waits."""

    @abstractmethod
    async def start(self, deliver: Deliver) -> None:
        """Begin delivering other replicas' messages as ``deliver(room_id, kind, payload)`` (never our own)."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def join(self, room_id: str) -> None:
        """Start receiving the room's messages."""

    @abstractmethod
    async def leave(self, room_id: str) -> None: ...

    @abstractmethod
    def publish(self, room_id: str, kind: int, payload: bytes) -> None: ...


class RedisBus(ReplicaBus):
    """A bus over Redis pub/sub: one channel per room (``{prefix}{room_id}``), one subscriber connection."""

    def __init__(self, url: str, *, prefix: str = "classroom:collab:") -> None:
        self._client = redis.Redis.from_url(url)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._prefix = prefix
        self._me = os.urandom(_ID_BYTES)
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        await self._client.ping()  # fail at start-up, not at the first keystroke
        self._tasks = [asyncio.create_task(self._send_loop()), asyncio.create_task(self._receive_loop())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._client.aclose()

    async def join(self, room_id: str) -> None:
        await self._pubsub.subscribe(self._prefix + room_id)

    async def leave(self, room_id: str) -> None:
        await self._pubsub.unsubscribe(self._prefix + room_id)

    def publish(self, room_id: str, kind: int, payload: bytes) -> None:
        self._outbox.put_nowait((self._prefix + room_id, self._me + bytes([kind]) + payload))

    async def _send_loop(self) -> None:
        while True:
            channel, frame = await self._outbox.get()
            try:
                await self._client.publish(channel, frame)
            except redis.RedisError as exc:  # the peers heal it by anti-entropy; keep serving locally
                log.warning("replica bus publish failed: %s", exc)

    async def _receive_loop(self) -> None:
        while True:
            if not self._pubsub.subscribed:  # get_message refuses to run before the first subscription
                await asyncio.sleep(0.05)
                continue
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (redis.RedisError, RuntimeError, OSError) as exc:
                log.warning("replica bus receive failed: %s", exc)
                await asyncio.sleep(1.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            frame: bytes = message["data"]
            if frame[:_ID_BYTES] == self._me or len(frame) <= _ID_BYTES:
                continue
            channel = message["channel"].decode()
            assert self._deliver is not None
            try:
                self._deliver(channel[len(self._prefix) :], frame[_ID_BYTES], frame[_ID_BYTES + 1 :])
            except Exception:  # a bad message must not end the loop that serves every room
                log.exception("replica bus delivery failed")


class LocalHub:
    """An in-process stand-in for Redis, shared by the :class:`LocalBus` of several managers (tests)."""

    def __init__(self) -> None:
        self.buses: list[LocalBus] = []


class LocalBus(ReplicaBus):
    """A bus between managers in one process; delivery is via the event loop, like a network hop."""

    def __init__(self, hub: LocalHub) -> None:
        self._hub = hub
        self._rooms: set[str] = set()
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._hub.buses.append(self)

    async def close(self) -> None:
        self._hub.buses.remove(self)

    async def join(self, room_id: str) -> None:
        self._rooms.add(room_id)

    async def leave(self, room_id: str) -> None:
        self._rooms.discard(room_id)

    def publish(self, room_id: str, kind: int, payload: bytes) -> None:
        loop = asyncio.get_running_loop()
        for bus in self._hub.buses:
            if bus is not self and room_id in bus._rooms and bus._deliver is not None:
                loop.call_soon(bus._deliver, room_id, kind, payload)
