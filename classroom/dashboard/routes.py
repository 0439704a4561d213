"""The dashboard over HTTP and WebSocket (the class's instructors and admins only).

- ``GET /api/classes/{class_id}/dashboard`` — the current view once (for scripts and the first paint).
- ``WS /api/classes/{class_id}/dashboard/live?token=JWT`` — server messages: ``{"type": "snapshot", "data":
  view}`` on connect, then again whenever the view changed (checked every :data:`PUSH_SECONDS`), and ``{"type":
  "unavailable", "detail": text}`` while analytics cannot answer. The page never polls. Close codes: 4401 no or
  bad token, 4403 not an instructor of the class, 4404 no such class.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from classroom.api import endpoint
from classroom.auth.access import class_access
from classroom.auth.service import class_of_request, websocket_user
from classroom.dashboard import service
from classroom.errors import ClassroomError, Unavailable, close_reason

log = logging.getLogger(__name__)
PUSH_SECONDS = 3.0


def _source(conn: Request | WebSocket) -> service.AnalyticsSource:
    plane = getattr(conn.app.state, "control_plane", None)
    if plane is None:
        raise Unavailable("analytics is unavailable: the control plane is off")
    found: service.AnalyticsSource = plane
    return found


def _course(conn: Request | WebSocket, course: str | None) -> str:
    return course or str(getattr(conn.app.state, "default_course", None) or "sample")


@endpoint(
    "GET",
    "/api/classes/{class_id}/dashboard",
    summary="The instructor's dashboard view: clusters, stuck students, exercises, runs per minute",
    tag="analytics",
    errors=(403, 404, 503),
)
async def get_dashboard(request: Request) -> dict[str, Any]:
    _, access = await class_of_request(request, instructor=True)
    return await service.dashboard(_source(request), access.class_id, _course(request, access.klass.course))


async def live_dashboard(websocket: WebSocket) -> None:
    try:
        user = await websocket_user(websocket)
        access = await class_access(user, websocket.path_params["class_id"])
        access.require_instructor()
    except ClassroomError as exc:
        await websocket.accept()
        await websocket.close(exc.close_code, close_reason(exc.detail))
        return
    await websocket.accept()
    course = _course(websocket, access.klass.course)
    pusher = asyncio.create_task(_push(websocket, access.class_id, course))
    try:
        while True:  # the page sends nothing; this notices when it goes away
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pusher


async def _push(websocket: WebSocket, class_id: Any, course: str) -> None:
    last = ""
    while True:
        try:
            view = await service.dashboard(_source(websocket), class_id, course)
        except Unavailable as exc:
            await websocket.send_json({"type": "unavailable", "detail": exc.detail})
        except Exception as exc:  # a database hiccup: say so, keep the socket, try again next tick
            log.warning("dashboard of class %s: %s", class_id, exc)
            await websocket.send_json({"type": "unavailable", "detail": "analytics could not be read; retrying"})
        else:
            mark = service.fingerprint(view)
            if mark != last:
                await websocket.send_json({"type": "snapshot", "data": view})
                last = mark
        await asyncio.sleep(PUSH_SECONDS)


def routes() -> list[BaseRoute]:
    return [get_dashboard, WebSocketRoute("/api/classes/{class_id}/dashboard/live", live_dashboard)]
