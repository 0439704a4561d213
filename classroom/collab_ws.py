"""The Starlette side of collab: ``WS /collab/{room_id}`` as an endpoint over a :class:`collab.RoomManager`.

The handshake asks ``authorize(websocket, room_id)`` (the accounts layer: token from ``?token=``, Origin
allowlist, membership) for a :class:`RoomAccess`. A refusal is one of the edge's typed errors
(Unauthenticated 4401, Forbidden 4403, NotFound 4404); the socket is then closed with that code before a single
byte of the room is sent. It is accepted first because a browser cannot read the HTTP status of a refused
WebSocket handshake, while it can read a close code and stop reconnecting.

Serving advice (measured with load/bench_collab.py): run uvicorn with ``ws_per_message_deflate=False`` (zlib
state is ~50 KiB per connection, for frames of a few bytes; the reference Node server does not compress) and
call ``gc.freeze()`` once start-up is done (full collections over import-time objects were the p99 spikes).
``ws_max_size`` at 1 MiB matches the library's ``max_message_bytes`` (uvicorn then refuses larger frames, 1009).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketState

from classroom.errors import ClassroomError
from collab import ChannelClosed, Member, RoomManager


@dataclass(frozen=True, slots=True)
class RoomAccess:
    """What the handshake established: who connects, the name peers see, and whether they may write."""

    user_id: str
    display_name: str
    can_write: bool


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
            await websocket.close(exc.close_code, exc.detail[:120])
            return
        await websocket.accept()
        member = Member(access.user_id, access.display_name, access.can_write)
        await manager.serve(StarletteChannel(websocket), room_id, member)

    return endpoint
