"""Publish and subscribe class events, in-process or across replicas through Redis.

An :class:`Envelope` is one event of one class plus its :class:`Audience` (who may receive it): the socket side
(:mod:`classroom.console`) delivers it to a page only when the audience admits that page's user. Features never
decide delivery themselves; they say who the event is for.

:class:`ClassEvents` is the app component (``app.state.events``). ``publish`` delivers to this replica's
subscribers at once and, with Redis, publishes the envelope on ``classroom:events:{class_id}`` for the other
replicas (each ignores its own messages). ``subscribe`` is per class: the first local subscriber of a class
subscribes its Redis channel, the last one leaving unsubscribes it. Delivery is at most once (Redis pub/sub);
pages re-read the whole state from a snapshot when they reconnect, which heals what a Redis hiccup lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from classroom.components import Health

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "classroom:events:"


@dataclass(frozen=True)
class Audience:
    """Who may receive an event: ``everyone`` in the class, its ``instructors``, some ``users``, or whoever may
    open ``room`` (its members, the instructors and, for a demo room, every student)."""

    everyone: bool = False
    users: tuple[str, ...] = ()
    room: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"everyone": self.everyone, "users": list(self.users), "room": self.room}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(bool(data.get("everyone")), tuple(str(u) for u in data.get("users") or ()), data.get("room"))


EVERYONE = Audience(everyone=True)
INSTRUCTORS = Audience()


@dataclass(frozen=True)
class Envelope:
    class_id: str
    event: dict[str, Any]
    audience: Audience = field(default=INSTRUCTORS)

    def encode(self, origin: str) -> str:
        return json.dumps(
            {"origin": origin, "class": self.class_id, "event": self.event, "to": self.audience.to_json()},
            separators=(",", ":"),
        )


Subscriber = Callable[[Envelope], None]


class ClassEvents:
    """The class event bus of this replica (a component; ``client`` is a redis.asyncio client or None)."""

    name = "events"
    required = False

    def __init__(self, client: Any = None, *, prefix: str = CHANNEL_PREFIX) -> None:
        self._redis = client
        self._prefix = prefix
        self.origin = uuid.uuid4().hex
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._pubsub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._listeners: list[Subscriber] = []  # every envelope of every class (room access updates)
        self.error: str | None = None
        self.published = 0

    # -- component -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._redis is None:
            return
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="events-send"),
            asyncio.create_task(self._receive_loop(), name="events-receive"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()

    async def check(self) -> Health:
        if self._redis is None:
            return Health(True, "in-process")
        return Health(self.error is None, self.error or "redis")

    @property
    def shared(self) -> bool:
        """True when events cross replicas (Redis)."""
        return self._redis is not None

    # -- publish / subscribe ---------------------------------------------------------------------------------
    def publish(self, class_id: object, event: dict[str, Any], audience: Audience = INSTRUCTORS) -> None:
        """Deliver ``event`` to this replica's subscribers now and queue it for the others. Never waits."""
        envelope = Envelope(str(class_id), event, audience)
        self.published += 1
        self._deliver(envelope)
        if self._redis is not None:
            self._outbox.put_nowait((self._prefix + envelope.class_id, envelope.encode(self.origin)))

    def listen(self, listener: Subscriber) -> None:
        """Call ``listener`` with every envelope of every class (from here or another replica)."""
        self._listeners.append(listener)

    async def subscribe(self, class_id: object, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(envelope)`` for each event of the class; returns the unsubscriber (idempotent)."""
        cid = str(class_id)
        subscribers = self._subscribers.setdefault(cid, set())
        first = not subscribers
        subscribers.add(subscriber)
        if first and self._pubsub is not None:
            try:
                await self._pubsub.subscribe(self._prefix + cid)
            except Exception as exc:  # this replica's events still arrive; the others' come after a reconnect
                self.error = f"subscribe: {type(exc).__name__}: {exc}"
                log.warning("events: %s", self.error)

        def unsubscribe() -> None:
            found = self._subscribers.get(cid)
            if found is None or subscriber not in found:
                return
            found.discard(subscriber)
            if not found:
                del self._subscribers[cid]
                if self._pubsub is not None:
                    self._outbox.put_nowait(("", cid))  # unsubscribe from Redis on the send loop

        return unsubscribe

    def subscribers(self, class_id: object) -> int:
        return len(self._subscribers.get(str(class_id), ()))

    def _deliver(self, envelope: Envelope) -> None:
        for listener in self._listeners:
            try:
                listener(envelope)
            except Exception:
                log.exception("events: a listener failed")
        for subscriber in list(self._subscribers.get(envelope.class_id, ())):
            try:
                subscriber(envelope)
            except Exception:  # one broken socket must not stop the others' events
                log.exception("events: a subscriber failed")

    # -- Redis -----------------------------------------------------------------------------------------------
    async def _send_loop(self) -> None:
        while True:
            channel, data = await self._outbox.get()
            try:
                if channel:
                    await self._redis.publish(channel, data)
                elif data not in self._subscribers:
                    await self._pubsub.unsubscribe(self._prefix + data)
            except Exception as exc:  # pages heal through the snapshot on reconnect
                self.error = f"publish: {type(exc).__name__}: {exc}"
                log.warning("events: %s", self.error)

    async def _receive_loop(self) -> None:
        while True:
            if not self._pubsub.subscribed:  # get_message refuses to run before the first subscription
                await asyncio.sleep(0.05)
                continue
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.error = f"receive: {type(exc).__name__}: {exc}"
                log.warning("events: %s", self.error)
                await asyncio.sleep(1.0)
                continue
            self.error = None
            if message is None or message.get("type") != "message":
                continue
            self._handle(message["data"])

    def _handle(self, data: bytes | str) -> None:
        try:
            raw = json.loads(data)
            if raw.get("origin") == self.origin:
                return
            envelope = Envelope(str(raw["class"]), dict(raw["event"]), Audience.from_json(raw.get("to") or {}))
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("events: ignoring a malformed message")
            return
        self._deliver(envelope)
