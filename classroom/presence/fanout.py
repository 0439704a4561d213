"""Removal across replicas: when Redis is configured, a removal on one replica closes the user's sockets on all.

:func:`remove` closes this replica's sockets (:func:`classroom.presence.service.close_user`) and, when the
:class:`PresenceFanout` component runs, publishes ``{user, class, origin}`` on :data:`CHANNEL`; every other
replica's component receives it and closes its own sockets of that user (Redis pub/sub delivers in
milliseconds, well inside the one-second bound). A replica ignores its own messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from classroom.components import Health
from classroom.presence import service as presence

log = logging.getLogger(__name__)

CHANNEL = "classroom:presence:close"

_active: PresenceFanout | None = None


async def remove(user_id: uuid.UUID, *, class_id: uuid.UUID | None = None) -> int:
    """Close the user's sockets here and on every other replica; return how many closed here."""
    closed = await presence.close_user(user_id, class_id=class_id)
    if _active is not None:
        await _active.publish(user_id, class_id)
    return closed


class PresenceFanout:
    """A component: subscribes to :data:`CHANNEL` while running; ``required`` is False (removal still works
    locally, and the next access check stops the other replicas' sockets, if Redis is down)."""

    name = "presence"
    required = False

    def __init__(self, client: Any) -> None:
        self._redis = client
        self.origin = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.error: str | None = None

    async def start(self) -> None:
        global _active
        self._task = asyncio.create_task(self._listen(), name="presence-fanout")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=3)
        _active = self

    async def stop(self) -> None:
        global _active
        if _active is self:
            _active = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def check(self) -> Health:
        if self.error:
            return Health(False, self.error)
        return Health(True, "subscribed" if self._ready.is_set() else "subscribing")

    async def publish(self, user_id: uuid.UUID, class_id: uuid.UUID | None) -> None:
        message = {"user": str(user_id), "class": None if class_id is None else str(class_id), "origin": self.origin}
        try:
            await self._redis.publish(CHANNEL, json.dumps(message))
        except Exception as exc:  # the local close already happened; the others stop at their next check
            log.warning("presence: could not publish a removal: %s", exc)

    async def _listen(self) -> None:
        while True:  # a control loop: reconnect after a Redis failure instead of dying
            try:
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(CHANNEL)
                self._ready.set()
                self.error = None
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._handle(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("presence: subscription failed (%s); retrying in 1 s", self.error)
                await asyncio.sleep(1)

    async def _handle(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            if message.get("origin") == self.origin:
                return
            class_id = uuid.UUID(message["class"]) if message.get("class") else None
            await presence.close_user(uuid.UUID(message["user"]), class_id=class_id)
        except (ValueError, KeyError, TypeError):
            log.warning("presence: ignoring a malformed removal message")


def install(parts: list[Any]) -> None:
    """With Redis among ``parts``, add the fan-out right after it, so removals reach every replica."""
    redis = next((p for p in parts if p.name == "redis"), None)
    if redis is not None:
        parts.insert(parts.index(redis) + 1, PresenceFanout(redis.client))
