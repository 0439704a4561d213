"""The live rooms of this web process: the :class:`collab.RoomManager` as an app component, and
``WS /collab/{room_id}`` with the accounts model's handshake (token, Origin, membership) and presence.

Presence registration is what lets an instructor's "remove student" close that student's room sockets at once,
and what the class page's "who is online" reads.
"""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from classroom import openapi, presence
from classroom.access import room_access
from classroom.auth import websocket_user
from classroom.collab_store import PiccoloDocumentStore
from classroom.collab_ws import RoomAccess, collab_endpoint
from classroom.components import Health
from classroom.settings import Settings
from collab import RedisBus, RoomManager

REMOVED_CLOSE_CODE = 4403


class Rooms:
    """Component owning the room manager: rooms load on first use and are flushed to the database on stop."""

    name = "rooms"
    required = True

    def __init__(self, settings: Settings, engine: Any) -> None:
        bus = RedisBus(settings.redis_url) if settings.redis_url else None
        self.manager = RoomManager(PiccoloDocumentStore(engine), bus=bus)
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        await self._stack.enter_async_context(self.manager)

    async def stop(self) -> None:
        await self._stack.aclose()

    async def check(self) -> Health:
        return Health(True, f"{self.manager.rooms} room(s) in memory")


async def authorize(websocket: WebSocket, room_id: str) -> RoomAccess:
    """The handshake: who is asking and what they may do in this room. Raises the edge's typed errors."""
    user = await websocket_user(websocket)
    access = await room_access(user, room_id)

    async def close() -> None:
        await websocket.close(REMOVED_CLOSE_CODE, "you were removed from this class")

    websocket.state.unregister = presence.register(
        user.id, close, class_id=access.class_id, display_name=user.display_name
    )
    return RoomAccess(str(user.id), user.display_name, access.can_write)


def routes(rooms: Rooms) -> list[BaseRoute]:
    inner = collab_endpoint(rooms.manager, authorize)

    async def endpoint(websocket: WebSocket) -> None:
        try:
            await inner(websocket)
        finally:
            unregister = getattr(websocket.state, "unregister", None)
            if unregister is not None:
                unregister()

    openapi.WEBSOCKETS["/collab/{room_id}?token=JWT"] = (
        "the room's Yjs document over the standard y-websocket protocol (sync + awareness); close codes 4401 "
        "no/bad token, 4403 forbidden Origin or removed from the class, 4404 no such room"
    )
    return [WebSocketRoute("/collab/{room_id}", endpoint)]
