"""``WS /api/classes/{class_id}/events``: the class channel of one open page (instructor or student).

Handshake like the other sockets: ``?token=`` (or the session cookie) and an allowed ``Origin`` (4401 / 4403),
membership of the class (4404 for a class that does not exist or is not theirs), ``?grid=1`` for instructors only
(4403 for a student). Then: a full snapshot (:mod:`classroom.console.snapshot`), then events as they happen
(:mod:`classroom.events.schemas`). The page may send ``{"type": "ping"}`` (answered ``pong``); any other frame is
malformed and closes the socket with 4400. A student removed from the class is closed with 4403 at once (their
socket is registered with :mod:`classroom.presence`); a page that reads too slowly with 1013 (it reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import MutableMapping
from typing import Any

from pydantic import ValidationError
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from classroom import openapi
from classroom.api import parse_json
from classroom.auth.access import class_access
from classroom.auth.service import websocket_user
from classroom.console import snapshot
from classroom.console.service import Console, Page
from classroom.console.viewer import Viewer
from classroom.errors import BadRequest, ClassroomError, Forbidden, close_reason
from classroom.events.schemas import MAX_FRAME_BYTES, ClientFrame
from classroom.presence import service as presence
from classroom.tables import User

log = logging.getLogger(__name__)

PATH = "/api/classes/{class_id}/events"


async def _handshake(websocket: WebSocket) -> tuple[User, Viewer, uuid.UUID]:
    user = await websocket_user(websocket)
    access = await class_access(user, websocket.path_params["class_id"])
    grid = websocket.query_params.get("grid") == "1"
    if grid and not access.is_instructor:
        raise Forbidden("only the class's instructors may open the live grid")
    return user, Viewer(str(user.id), access.is_instructor, grid), access.class_id


def _frame(message: MutableMapping[str, Any]) -> None:
    """Validate one frame from the page; BadRequest (4400) for anything but a ping."""
    if message.get("bytes") is not None:
        raise BadRequest("the class channel takes JSON text frames")
    text = message.get("text") or ""
    if len(text) > MAX_FRAME_BYTES:
        raise BadRequest(f"a frame is larger than {MAX_FRAME_BYTES} bytes")
    data = parse_json(text)  # strict: depth, duplicates, NaN, ... are a 4400 with the reason
    try:
        ClientFrame.model_validate(data)
    except ValidationError:
        raise BadRequest('expected {"type": "ping"}') from None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code, close_reason(reason))


def routes() -> list[BaseRoute]:
    async def endpoint(websocket: WebSocket) -> None:
        console: Console = websocket.app.state.console
        try:
            user, viewer, class_id = await _handshake(websocket)
        except ClassroomError as exc:
            await websocket.accept()
            await _close(websocket, exc.close_code, exc.detail)
            return
        await websocket.accept()
        page = Page(str(class_id), viewer)

        async def removed() -> None:
            await _close(websocket, 4403, "you were removed from this class")

        unregister = presence.register(user.id, removed, class_id=class_id, display_name=user.display_name)
        try:
            await console.attach(page)
            await websocket.send_json(await _snapshot(websocket, console, class_id, user, viewer))
            page.go_live()
            await _serve(websocket, page)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the page went away (RuntimeError: a send after the close)
        finally:
            unregister()
            await console.detach(page)

    openapi.WEBSOCKETS[PATH + "?token=JWT[&grid=1]"] = (
        "the class channel: a snapshot, then class events as JSON (presence, rooms, hands, follow-me, run outcomes; "
        "grid tiles for instructors with grid=1); send {type: ping}. Close codes 4400 malformed frame, 4401 no/bad "
        "token, 4403 forbidden Origin, a student asking for the grid, or removed from the class, 4404 no such class"
    )
    return [WebSocketRoute(PATH, endpoint)]


async def _snapshot(
    websocket: WebSocket, console: Console, class_id: uuid.UUID, user: User, viewer: Viewer
) -> dict[str, Any]:
    default_course: str = getattr(websocket.app.state, "default_course", "sample")
    online = await console.online.read(class_id)
    found = await snapshot.build(class_id, user, viewer, online, default_course)
    if viewer.grid:
        found["tiles"] = console.tiles(str(class_id))
        found["runs"] = await snapshot.last_runs(class_id)
        found["stuck"] = []
        if console.stuck_of is not None:
            with contextlib.suppress(Exception):
                found["stuck"] = await asyncio.wait_for(console.stuck_of(str(class_id)), timeout=3)
    return found


async def _serve(websocket: WebSocket, page: Page) -> None:
    """Send the page's events and read its pings until one side ends; a bad frame closes with 4400."""

    async def write() -> None:
        while True:
            message = await page.queue.get()
            if message is None:
                await _close(websocket, 1013, "this page fell behind: reconnect for a fresh snapshot")
                return
            await websocket.send_text(json.dumps(message, separators=(",", ":")))

    async def read() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                _frame(message)
            except BadRequest as exc:
                await _close(websocket, exc.close_code, exc.detail)
                return
            page.push({"type": "pong"})

    tasks = [asyncio.create_task(write()), asyncio.create_task(read())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
