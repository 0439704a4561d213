"""``WS /api/rooms/{room_id}/live?token=JWT``: a room page's socket for the room's runs — pushed, and started.

On connect the page gets ``{"type": "snapshot", "runs": [RunSummary...]}`` (newest first, as
``GET /api/rooms/{id}/runs``), then every event of :mod:`classroom.runs.feed` for the room: ``{"type": "run",
"run": RunSummary}`` when a run of the room is accepted and again when it finishes, ``{"type": "forked", ...}``
when the instructor forks a demo for everyone.

The same socket runs code, so a Run click costs one frame and no new handshake (the page holds this socket
already; ``POST /api/runs`` + ``WS /api/runs/{id}/stream`` stay for API clients). Client messages:

- ``{"type": "run", "ref"?, "entry"?, "stdin"?, "args"?, "interactive"? (default true)}`` — run the room's files
  now. The rules are ``POST /api/runs {room_id}``'s: the account is loaded again (disabled, or a student in no
  class, closes 4401), the runs-per-minute limit, room access and write rights read now (a demo's viewer cannot
  run), the same validation, the same audit. Answer ``{"type": "accepted", "ref", "run_id", "status",
  "queue_position"}``, then the run's stream; or ``{"type": "error", "ref", "status", "error", "detail"}`` with
  the status the HTTP route would give (403, 404, 400, 429, 503); the socket stays open.
- ``{"type": "follow", "run_id"}`` — stream a run of this room (a classmate's, or one's own after a reconnect:
  everything so far, then live); ``{"type": "unfollow"}`` stops.
- ``{"type": "stdin", "run_id", "data"}``, ``{"type": "stdin_eof", "run_id"}``, ``{"type": "cancel", "run_id"}``
  — as on the run's stream: stdin only from who started it, cancel also from the class's instructors (refused:
  an error frame with status 403).
- ``{"type": "ping"}`` — keep-alive.

A followed run's messages are the run stream's (``queued``, ``started``, ``stdout``/``stderr``, ``stdin`` echo,
``retry``, ``exit``), each with ``"run_id"``; one run is followed at a time (a new run or follow replaces it).
The run may be dispatched by any replica: its output comes through :mod:`classroom.runs.relay` like the stream's.

Close codes: 4400 a malformed message (not strict JSON, an unknown type, a field of the wrong type or size), 4401
no/invalid token or the account stopped being valid, 4403 forbidden Origin or removed from the class (the
socket is registered with :mod:`classroom.presence`), 4404 no such room (or not theirs), 1013 the feed stopped or
the page fell too far behind (reconnect for a fresh snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from classroom import openapi
from classroom.api import parse_model
from classroom.auth.access import RoomAccess, room_access
from classroom.auth.service import load_user, websocket_user
from classroom.errors import BadRequest, ClassroomError, Forbidden, NotFound, Unauthenticated, close_reason
from classroom.presence import service as presence
from classroom.runs.feed import RoomFeed
from classroom.runs.routes import (
    Closing,
    RunRights,
    Send,
    control_run,
    count_run,
    parse_control,
    receive_json,
    recent_runs,
    run_rights,
    send_run,
    service_of,
    start_run,
)
from classroom.runs.schemas import RoomRunIn, RunIn
from classroom.tables import User

DOC = (
    "A room's runs: pushed, and started. Token in ?token=. Server: {type: snapshot, runs: [RunSummary]} on "
    "connect, then {type: run, run: RunSummary} when a run of the room is accepted or finishes, {type: forked, by, "
    "count} when the demo was forked for everyone; a followed run's stream messages, each with run_id. Client: "
    "{type: run, ref?, entry?, stdin?, args?, interactive?} (as POST /api/runs {room_id}; answered {type: "
    "accepted, ref, run_id, status, queue_position} then the run's stream, or {type: error, ref, status, detail}), "
    "{type: follow, run_id}, {type: unfollow}, {type: stdin, run_id, data}, {type: stdin_eof, run_id}, {type: "
    "cancel, run_id}, {type: ping}. Close codes: 4400 bad message, 4401 unauthenticated, 4403 forbidden Origin or "
    "removed from the class, 4404 no such room, 1013 reconnect."
)
REMOVED_CLOSE_CODE = 4403
TYPES = "ping|run|follow|unfollow|stdin|stdin_eof|cancel"


class _Names:
    """Display names by user id for the events that lack one (a finished run), read once per socket."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def learn(self, user_id: str, name: str) -> None:
        if name:
            self._known[user_id] = name

    async def of(self, user_id: str) -> str:
        if user_id not in self._known:
            try:
                row = await User.select(User.display_name).where(User.id == uuid.UUID(user_id)).first().run()
            except ValueError:
                row = None
            self._known[user_id] = "" if row is None else str(row["display_name"])
        return self._known[user_id]


async def room_live(websocket: WebSocket) -> None:
    feed: RoomFeed = websocket.app.state.room_feed
    try:
        user = await websocket_user(websocket)
        access = await room_access(user, websocket.path_params["room_id"])
    except ClassroomError as exc:
        await websocket.accept()
        await websocket.close(exc.close_code, close_reason(exc.detail))
        return
    room_id = str(access.room.id)
    await websocket.accept()
    queue = feed.subscribe(room_id)  # before the snapshot: nothing that happens meanwhile is lost
    removed = asyncio.Event()
    lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        # Three tasks write here (the feed, a followed run, the answers to client messages): one frame at a time.
        async with lock:
            await websocket.send_json(message)

    async def close() -> None:
        removed.set()

    unregister = presence.register(user.id, close, class_id=access.class_id, display_name=user.display_name)
    names = _Names()
    runs = _RoomRuns(websocket, send, user, access)
    tasks: list[asyncio.Task[Any]] = []
    try:
        snapshot = await recent_runs(access.room.id)
        for run in snapshot:
            names.learn(run.user_id, run.display_name)
        await send({"type": "snapshot", "runs": [r.model_dump(mode="json") for r in snapshot]})
        tasks = [
            asyncio.create_task(_send(send, queue, names)),
            asyncio.create_task(runs.receive()),
            asyncio.create_task(removed.wait()),
        ]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finished = done.pop()
        await runs.stop()  # nothing else may write to the socket while it closes
        if finished is tasks[2]:
            await _close(websocket, REMOVED_CLOSE_CODE, "you were removed from this class")
        elif not finished.cancelled() and isinstance(finished.exception(), Closing):
            failure = finished.exception()
            assert isinstance(failure, Closing)
            await _close(websocket, failure.code, failure.reason)
        elif finished is tasks[0]:
            await _close(websocket, 1013, "the feed restarted: reconnect")
    except WebSocketDisconnect:
        pass
    finally:
        unregister()
        feed.unsubscribe(room_id, queue)
        await runs.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


class _RoomRuns:
    """The client messages of one room socket, and the one run it follows."""

    def __init__(self, websocket: WebSocket, send: Send, user: User, access: RoomAccess) -> None:
        self.websocket, self.send, self.user, self.access = websocket, send, user, access
        self.room_id = str(access.room.id)
        self.service = service_of(websocket)
        self.following: RunRights | None = None
        self._stream: asyncio.Task[None] | None = None

    async def receive(self) -> None:
        while True:
            try:
                data = await receive_json(self.websocket)
                if not isinstance(data, dict) or not isinstance(data.get("type"), str):
                    raise BadRequest(f"expected {{type: {TYPES}}}")
                await self._handle(data)
            except BadRequest as exc:
                raise Closing(4400, exc.detail) from None
            except Unauthenticated as exc:
                raise Closing(exc.close_code, exc.detail) from None

    async def _handle(self, data: dict[str, Any]) -> None:
        kind = data["type"]
        if kind == "ping":
            return
        if kind == "run":
            await self._run(data)
        elif kind == "follow":
            run_id = _run_id(data, {"type", "run_id"})
            try:
                await self._follow(await self._rights(run_id))
            except NotFound as exc:
                await self.send(_error(exc, run_id=run_id))
        elif kind == "unfollow":
            await self.stop()
        elif kind in ("stdin", "stdin_eof", "cancel"):
            run_id = _run_id(data, {"type", "run_id", "data"} if kind == "stdin" else {"type", "run_id"})
            control, payload = parse_control(data)
            try:
                rights = self.following if self._follows(run_id) else await self._rights(run_id)
                assert rights is not None
                await control_run(self.service, rights, control, payload)
            except (Forbidden, NotFound) as exc:
                await self.send(_error(exc, run_id=run_id))
        else:
            raise BadRequest(f"unknown type {str(kind)[:40]!r}: expected {{type: {TYPES}}}")

    async def _run(self, data: dict[str, Any]) -> None:
        body = parse_model(RoomRunIn, data)
        assert isinstance(body, RoomRunIn)
        asked = {"room_id": self.room_id, "stdin": body.stdin, "args": body.args, "interactive": body.interactive}
        if body.entry is not None:
            asked["entry"] = body.entry
        run_in = parse_model(RunIn, asked)
        assert isinstance(run_in, RunIn)
        try:
            # Loaded again, as every HTTP request loads it: a disabled account, or a student removed from their
            # last class, starts nothing (Unauthenticated closes the socket). Cached for at most a second.
            user = await load_user(self.user.id)
            await count_run(self.websocket, user)
            accepted = await start_run(self.websocket, user, run_in)
        except Unauthenticated:
            raise
        except ClassroomError as exc:
            await self.send(_error(exc, ref=body.ref))
            return
        await self.send(
            {
                "type": "accepted",
                "ref": body.ref,
                "run_id": accepted.id,
                "status": accepted.status,
                "queue_position": accepted.queue_position,
            }
        )
        class_id = uuid.UUID(str(self.access.class_id))
        await self._follow(RunRights(accepted.id, True, True, class_id, self.room_id))

    async def _rights(self, run_id: str) -> RunRights:
        rights = await run_rights(self.service, self.user, run_id)
        if rights.room_id != self.room_id:
            raise NotFound("no such run in this room")
        return rights

    def _follows(self, run_id: str) -> bool:
        return self.following is not None and self.following.run_id == run_id

    async def _follow(self, rights: RunRights) -> None:
        await self.stop()
        self.following = rights
        self._stream = asyncio.create_task(self._forward(rights), name=f"room-run-{rights.run_id}")

    async def _forward(self, rights: RunRights) -> None:
        async def tagged(message: dict[str, Any]) -> None:
            await self.send({**message, "run_id": rights.run_id})

        try:
            await send_run(tagged, self.service, rights.run_id)
        except Closing as exc:  # the run vanished: an answer about that run, not the end of the room's socket
            await self.send({"type": "error", "run_id": rights.run_id, "status": 404, "detail": exc.reason})
        except (WebSocketDisconnect, RuntimeError):
            pass  # the socket went away; the handler ends

    async def stop(self) -> None:
        """Stop following (the run itself goes on)."""
        task, self._stream, self.following = self._stream, None, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def _run_id(data: dict[str, Any], allowed: set[str]) -> str:
    extra = set(data) - allowed
    if extra:
        raise BadRequest(f"{data['type']}: unknown field {sorted(extra)[0][:40]!r}")
    run_id = data.get("run_id")
    if not isinstance(run_id, str) or not 0 < len(run_id) <= 64:
        raise BadRequest(f"{data['type']}: run_id must be a run's id")
    return run_id


def _error(exc: ClassroomError, **about: Any) -> dict[str, Any]:
    return {"type": "error", **about, "status": exc.status, "error": exc.code, "detail": exc.detail}


async def _send(send: Send, queue: asyncio.Queue[dict[str, Any] | None], names: _Names) -> None:
    while True:
        event = await queue.get()
        if event is None:
            return
        if event.get("type") == "run" and isinstance(event.get("run"), dict):
            run = dict(event["run"])
            user_id = str(run.get("user_id", ""))
            if run.get("display_name"):
                names.learn(user_id, str(run["display_name"]))
            else:
                run["display_name"] = await names.of(user_id)
            event = {**event, "run": run}
        await send(event)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code, close_reason(reason))


def routes() -> list[BaseRoute]:
    openapi.WEBSOCKETS["/api/rooms/{room_id}/live?token=JWT"] = DOC
    return [WebSocketRoute("/api/rooms/{room_id}/live", room_live)]
