"""``WS /collab/{room_id}``: the Starlette side of collab, an endpoint over a :class:`collab.RoomManager`.

The handshake asks ``authorize(websocket, room_id)`` (:func:`authorize` here: token from ``?token=``, Origin
allowlist, membership, and presence registration, which lets an instructor's "remove student" close that
student's room sockets at once and feeds the class page's "who is online") for a :class:`RoomAccess`. A
refusal is one of the edge's typed errors (Unauthenticated 4401, Forbidden 4403, NotFound 4404); the socket is
then closed with that code before a single byte of the room is sent. It is accepted first because a browser
cannot read the HTTP status of a refused WebSocket handshake, while it can read a close code and stop
reconnecting.

Serving advice (measured with load/bench_collab.py): run uvicorn with ``ws_per_message_deflate=False`` (zlib
state is ~50 KiB per connection, for frames of a few bytes; the reference Node server does not compress) and
call ``gc.freeze()`` once start-up is done (full collections over import-time objects were the p99 spikes).
``ws_max_size`` at 1 MiB matches the library's ``max_message_bytes`` (uvicorn then refuses larger frames, 1009).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketState

from classroom import openapi
from classroom.auth.access import room_access
from classroom.auth.service import websocket_user
from classroom.errors import ClassroomError, close_reason
from classroom.presence import service as presence
from classroom.rooms.service import Rooms
from collab import ChannelClosed, Member, RoomManager


@dataclass(frozen=True, slots=True)
class RoomAccess:
    """What the handshake established: who connects, the name peers see, and whether they may write."""

    user_id: str
    display_name: str
    can_write: bool
    role: str = ""  # "instructor", "observer" or "student": how live access changes treat the connection


Authorize = Callable[[WebSocket, str], Awaitable[RoomAccess]]


class StarletteChannel:
    """:class:`collab.Channel` over a Starlette WebSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def recv(self) -> bytes | str:
        message = await self._websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise ChannelClosed(message.get("code"))
        data = message.get("bytes")
        if data is not None:
            return bytes(data)
        return str(message.get("text") or "")

    async def send(self, message: bytes) -> None:
        await self._websocket.send_bytes(message)

    async def close(self, code: int, reason: str) -> None:
        if self._websocket.application_state != WebSocketState.DISCONNECTED:
            await self._websocket.close(code, reason)


def collab_endpoint(manager: RoomManager, authorize: Authorize) -> Callable[[WebSocket], Awaitable[None]]:
    """A WebSocket endpoint for a route with a ``{room_id}`` path parameter."""

    async def endpoint(websocket: WebSocket) -> None:
        room_id = str(websocket.path_params["room_id"])
        try:
            access = await authorize(websocket, room_id)
        except ClassroomError as exc:
            await websocket.accept()
            await websocket.close(exc.close_code, close_reason(exc.detail))
            return
        await websocket.accept()
        member = Member(access.user_id, access.display_name, access.can_write, access.role)
        await manager.serve(StarletteChannel(websocket), room_id, member)

    return endpoint


REMOVED_CLOSE_CODE = 4403


async def authorize(websocket: WebSocket, room_id: str) -> RoomAccess:
    """The handshake: who is asking and what they may do in this room. Raises the edge's typed errors."""
    user = await websocket_user(websocket)
    access = await room_access(user, room_id)

    async def close() -> None:
        await websocket.close(REMOVED_CLOSE_CODE, "you were removed from this class")

    # An instructor may look in as an invisible observer (?observe=1): read-only, and not counted online.
    observe = access.is_instructor and websocket.query_params.get("observe") == "1"
    if not observe:
        websocket.state.unregister = presence.register(
            user.id, close, class_id=access.class_id, display_name=user.display_name
        )
    role = "observer" if observe else "instructor" if access.is_instructor else "student"
    return RoomAccess(str(user.id), user.display_name, access.can_write and not observe, role)


# Handshakes checking access at once. On SQLite each of their queries opens a connection and a thread; a burst of
# hundreds (a class reconnecting after a restart) left those threads' memory resident, ~170 KiB per connection
# measured by load/bench_collab.py. The database serializes the work anyway, so a bound costs no throughput.
HANDSHAKES_AT_ONCE = 4


def routes(rooms: Rooms) -> list[BaseRoute]:
    handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)

    async def bounded_authorize(websocket: WebSocket, room_id: str) -> RoomAccess:
        async with handshakes:
            return await authorize(websocket, room_id)

    inner = collab_endpoint(rooms.manager, bounded_authorize)

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
