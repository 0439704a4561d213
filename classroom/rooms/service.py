"""The live rooms of this web process: the :class:`collab.RoomManager` as an app component (rooms load on first
use, their updates go to the database log and, with Redis, to the other replicas)."""

from __future__ import annotations

import contextlib
from typing import Any

from classroom.components import Health
from classroom.rooms.store import PiccoloDocumentStore
from classroom.settings import Settings
from collab import RedisBus, RoomManager


class Rooms:
    """Component owning the room manager: rooms load on first use and are flushed to the database on stop."""

    name = "rooms"
    required = True

    def __init__(self, settings: Settings, engine: Any) -> None:
        bus = RedisBus(settings.redis_url) if settings.redis_url else None
        self._store = PiccoloDocumentStore(engine)
        self.manager = RoomManager(self._store, bus=bus)
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        await self._stack.enter_async_context(self.manager)

    async def stop(self) -> None:
        try:
            await self._stack.aclose()  # the manager's last flush
        finally:
            self._store.close()

    async def check(self) -> Health:
        return Health(True, f"{self.manager.rooms} room(s) in memory")
