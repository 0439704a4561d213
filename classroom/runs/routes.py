"""``/api/runs``: submit, read, cancel and stream runs; ``/api/rooms/{id}/runs``: a room's recent runs.

Who may do what follows :func:`classroom.access.run_access`: the submitter, the run's room's members and the
class's instructors read and stream; only the submitter and the instructors send stdin and cancel. A run the
user may not see answers 404 (ids cannot be probed).

``WS /api/runs/{id}/stream?token=JWT`` — server messages: ``{"type":"queued","position":n}``,
``{"type":"started","attempt":n}``, ``{"type":"stdout"|"stderr","data":text}``, ``{"type":"retry",
"attempt":n,"reason":text}`` (a slot died: the output so far is void, the run starts again), and last
``{"type":"exit", verdict, exit_code, signal, wall_ms, cpu_ms, peak_memory_bytes, stdout_truncated,
stderr_truncated, error, detail}``, then close 1000. Client messages: ``{"type":"stdin","data":text}``,
``{"type":"stdin_eof"}``, ``{"type":"cancel"}``. A late subscriber gets everything so far, then live output.
Close codes: 4400 malformed message, 4401 no/invalid token, 4403 not allowed to control the run (or the
viewer was removed from the run's class: the socket is registered with :mod:`classroom.presence`), 4404 no such
run, 1013 runs unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any, cast

from starlette.requests import Request
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from classroom import openapi, presence
from classroom.access import parse_id, room_access, run_access
from classroom.api import endpoint
from classroom.auth import require_user, websocket_user
from classroom.errors import BadRequest, ClassroomError, Forbidden, NotFound
from classroom.runs.models import MAX_STDIN, CancelOut, RoomRunsOut, RunAccepted, RunIn, RunOut, RunSummary
from classroom.runs.service import RunService, exit_message
from classroom.tables import Room, Run, User

POLL_SECONDS = 0.5
STREAM_DOC = (
    "A run's live output. Token in ?token= (POST /api/tokens). Server: {type: queued, position}, {type: started}, "
    "{type: stdout|stderr, data}, {type: retry, attempt, reason}, then {type: exit, verdict, exit_code, signal, "
    "wall_ms, cpu_ms, peak_memory_bytes, error, ...} and close 1000. Client: {type: stdin, data}, "
    "{type: stdin_eof}, {type: cancel} (submitter and instructors only). A late subscriber gets everything so far. "
    "Close codes: 4400 malformed message, 4401 unauthenticated, 4403 not allowed or removed from the class, "
    "4404 no such run."
)
REMOVED_CLOSE_CODE = 4403  # as a room socket's (classroom.rooms_live): the viewer was removed from the class


def service_of(conn: Request | WebSocket) -> RunService:
    service: RunService = conn.app.state.runs
    return service


async def _visible_run(user: User, run_id: str) -> Run:
    rid = parse_id(run_id, "run")
    run = await Run.objects().where(Run.id == rid).first().run()
    if run is None or not await run_access(user, run):
        raise NotFound("no such run")
    return run


@endpoint(
    "POST",
    "/api/runs",
    summary="Submit a run (the room's files, or files/code); answers at once with its queue position.",
    tag="runs",
    body=RunIn,
    response=RunAccepted,
    status=202,
    errors=(404, 429, 503),
)
async def submit_run(request: Request, body: RunIn) -> RunAccepted:
    user = await require_user(request)
    service = service_of(request)
    access = None if body.room_id is None else await room_access(user, body.room_id)
    service.require_dispatcher()
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        from classroom.ratelimit import limits

        await limiter.hit(limits(service.settings)["runs"], str(user.id))
    room_id = class_id = None
    state_vector = None
    priority = 0
    if access is not None:
        room_id, class_id = str(access.room.id), str(access.class_id)
        rooms = getattr(request.app.state, "rooms", None)
        if rooms is None:
            raise BadRequest("room_id: rooms are not served by this process")
        # The files and the state vector are read in one step of the event loop: they describe the same document.
        files, state_vector = await rooms.files(room_id), await rooms.state_vector(room_id)
        if access.room.kind == "demo" and access.is_instructor:
            priority = 1  # the whole class is waiting on the instructor's demo
    elif body.files is not None:
        files = {}
        for f in body.files:
            if f.name in files:
                raise BadRequest(f"files: {f.name!r} appears twice")
            files[f.name] = f.content
    else:
        files = {"main.py": body.code or ""}
    entry = body.entry or "main.py"
    run_id, status, position = await service.submit(
        user_id=str(user.id),
        files=files,
        entry=entry,
        stdin=body.stdin,
        args=body.args,
        interactive=body.interactive,
        room_id=room_id,
        class_id=class_id,
        priority=priority,
        state_vector=state_vector,
    )
    return RunAccepted(id=run_id, status=status, queue_position=position)


def run_out(run: Run, position: int | None) -> RunOut:
    def s(value: Any) -> str | None:
        return None if value is None else str(value)

    error = None
    if run.error_type:
        error = {"type": run.error_type, "message": run.error_message or "", "line": run.error_line}
    return RunOut.model_validate(
        {
            "id": str(run.id),
            "status": run.status,
            "verdict": run.verdict,
            "exit_code": run.exit_code,
            "signal": run.signal,
            "stdout": run.stdout or "",
            "stderr": run.stderr or "",
            "stdout_truncated": bool(run.stdout_truncated),
            "stderr_truncated": bool(run.stderr_truncated),
            "error": error,
            "internal_reason": run.internal_reason if run.verdict == "internal_error" else None,
            "wall_ms": run.wall_ms,
            "cpu_ms": run.cpu_ms,
            "peak_memory_bytes": run.peak_memory_bytes,
            "attempts": run.attempts or 0,
            "queue_position": position,
            "user_id": str(run.user),
            "room_id": s(run.room),
            "class_id": s(run.klass),
            "entry": run.entry,
            "code_hash": run.code_hash,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
        }
    )


def _position(service: RunService, run: Run) -> int | None:
    if run.status != "queued" or service.dispatcher is None:
        return None
    return service.dispatcher.position(str(run.id)) or None


@endpoint(
    "GET",
    "/api/runs/{run_id}",
    summary="A run: status, verdict, exit code, stdout, stderr, timings and memory.",
    tag="runs",
    response=RunOut,
    errors=(404,),
)
async def get_run(request: Request) -> RunOut:
    user = await require_user(request)
    run = await _visible_run(user, request.path_params["run_id"])
    return run_out(run, _position(service_of(request), run))


@endpoint(
    "POST",
    "/api/runs/{run_id}/cancel",
    summary="Cancel a queued or running run (the submitter and the class's instructors).",
    tag="runs",
    response=CancelOut,
    errors=(404,),
)
async def cancel_run(request: Request) -> CancelOut:
    user = await require_user(request)
    run = await _visible_run(user, request.path_params["run_id"])
    if not await run_access(user, run, control=True):
        raise Forbidden("only the submitter and the class's instructors may cancel this run")
    return CancelOut(id=str(run.id), cancelled=await _cancel(service_of(request), str(run.id)))


async def _cancel(service: RunService, run_id: str) -> bool:
    if service.dispatcher is not None:
        return await service.dispatcher.cancel(run_id)
    cancelled = {"verdict": "cancelled", "detail": "cancelled before it started"}
    return await service.queue.finish(run_id, cancelled, only_queued=True)


@endpoint(
    "GET",
    "/api/rooms/{room_id}/runs",
    summary="A room's recent runs, newest first (at most 50).",
    tag="runs",
    response=RoomRunsOut,
    errors=(404,),
)
async def room_runs(request: Request) -> RoomRunsOut:
    user = await require_user(request)
    access = await room_access(user, request.path_params["room_id"])
    rows = (
        await Run.select(
            Run.id, Run.user, Run.status, Run.verdict, Run.exit_code, Run.wall_ms, Run.created_at, Run.finished_at
        )
        .where(Run.room == access.room.id)
        .order_by(Run.created_at, ascending=False)
        .limit(50)
        .run()
    )
    return RoomRunsOut(runs=[RunSummary(**{**r, "id": str(r["id"]), "user_id": str(r["user"])}) for r in rows])


# -- the stream -------------------------------------------------------------------------------------------------


class _Closing(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


async def stream_run(websocket: WebSocket) -> None:
    try:
        user = await websocket_user(websocket)
        service = service_of(websocket)
        run_id = str(parse_id(websocket.path_params["run_id"], "run"))
        # A run this process streams carries its owner ids: the access check needs no query of the row.
        run: Any = service.hub.meta(run_id)
        if run is None or not await run_access(user, run):
            run = await _visible_run(user, run_id)
        can_control = await run_access(user, run, control=True)
        class_id = await _class_of(run)
    except ClassroomError as exc:
        await websocket.accept()
        await websocket.close(exc.close_code, exc.detail[:120])
        return
    await websocket.accept()
    removed, ended = asyncio.Event(), asyncio.Event()

    async def close() -> None:
        # Removal from the run's class: the handler stops streaming and closes; close_user waits for that.
        removed.set()
        await ended.wait()

    unregister = None
    if class_id is not None:  # a run outside any class is no class's business
        unregister = presence.register(user.id, close, class_id=class_id, display_name=user.display_name)
    sender = asyncio.create_task(_send(websocket, service, run_id))
    receiver = asyncio.create_task(_receive(websocket, service, run_id, can_control))
    removal = asyncio.create_task(removed.wait())
    try:
        done, _ = await asyncio.wait({sender, receiver, removal}, return_when=asyncio.FIRST_COMPLETED)
        if removal in done:
            await _stop(sender, receiver)  # nothing else may write to the socket while it closes
            await _close(websocket, REMOVED_CLOSE_CODE, "you were removed from this class")
            return
        for task in done:
            failure = task.exception()
            if isinstance(failure, _Closing):
                await _close(websocket, failure.code, failure.reason)
            elif failure is not None and not isinstance(failure, WebSocketDisconnect):
                raise failure
        await _close(websocket, 1000, "")
    finally:
        if unregister is not None:
            unregister()
        await _stop(sender, receiver, removal)
        ended.set()


async def _stop(*tasks: asyncio.Task[Any]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def _class_of(run: Any) -> uuid.UUID | None:
    """The class of ``run`` (a row, or the hub's meta of a run this process streams): its own, or its room's."""
    klass, room = (run.get("klass"), run.get("room")) if isinstance(run, dict) else (run.klass, run.room)
    if klass is None and room is not None:
        row = await Room.select(Room.klass).where(Room.id == uuid.UUID(str(room))).first().run()
        klass = None if row is None else row["klass"]
    return None if klass is None else uuid.UUID(str(klass))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code, reason[:120])


async def _send(websocket: WebSocket, service: RunService, run_id: str) -> None:
    last_position = None
    while True:
        dispatcher = service.dispatcher
        if (dispatcher is not None and dispatcher.is_local(run_id)) or service.hub.has(run_id):
            subscription = service.hub.subscribe(run_id)
            if subscription is not None:
                await _send_live(websocket, service, run_id, subscription)
                return
        # Not (yet) ours: another replica runs it, or our dispatcher has not reloaded it. Follow the row.
        row = await Run.objects().where(Run.id == uuid.UUID(run_id)).first().run()
        if row is None:
            raise _Closing(4404, "no such run")
        if row.status == "finished":
            await _send_finished(websocket, row)
            return
        if row.status == "queued":
            position = (dispatcher.position(run_id) if dispatcher else 0) or None
            if position != last_position:
                await websocket.send_json({"type": "queued", "position": position})
                last_position = position
        await asyncio.sleep(POLL_SECONDS)


async def _send_live(
    websocket: WebSocket, service: RunService, run_id: str, subscription: tuple[list[dict[str, Any]], Any]
) -> None:
    history, live = subscription
    dispatcher = service.dispatcher
    last_position = 0

    async def queued_position() -> None:
        nonlocal last_position
        position = dispatcher.position(run_id) if dispatcher is not None else 0
        if position and position != last_position:
            await websocket.send_json({"type": "queued", "position": position})
            last_position = position

    try:
        started = any(m["type"] in ("started", "exit") for m in history)
        if not started:
            await queued_position()
        for message in history:
            await websocket.send_json(message)
            if message["type"] == "exit":
                return
        while True:
            try:
                message = await asyncio.wait_for(live.get(), timeout=None if started else POLL_SECONDS * 2)
            except TimeoutError:
                await queued_position()  # the queue moved: tell the waiting console where it stands
                continue
            started = started or message["type"] in ("started", "exit")
            await websocket.send_json(message)
            if message["type"] == "exit":
                return
    finally:
        service.hub.unsubscribe(run_id, live)


async def _send_finished(websocket: WebSocket, row: Run) -> None:
    await websocket.send_json({"type": "started", "attempt": row.attempts})
    if row.stdout:
        await websocket.send_json({"type": "stdout", "data": row.stdout})
    if row.stderr:
        await websocket.send_json({"type": "stderr", "data": row.stderr})
    error = {"type": row.error_type, "message": row.error_message, "line": row.error_line} if row.error_type else None
    result = {
        "verdict": row.verdict,
        "exit_code": row.exit_code,
        "signal": row.signal,
        "wall_ms": row.wall_ms,
        "cpu_ms": row.cpu_ms,
        "peak_memory_bytes": row.peak_memory_bytes,
        "stdout_truncated": row.stdout_truncated,
        "stderr_truncated": row.stderr_truncated,
        "error": error,
        "detail": row.internal_reason or "",
    }
    await websocket.send_json(exit_message(result))


async def _receive(websocket: WebSocket, service: RunService, run_id: str, can_control: bool) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            raise _Closing(4400, "expected JSON text messages, got binary")
        try:
            data = json.loads(text)
        except ValueError:
            raise _Closing(4400, "message is not valid JSON") from None
        if not isinstance(data, dict) or data.get("type") not in ("stdin", "stdin_eof", "cancel"):
            raise _Closing(4400, "expected {type: stdin|stdin_eof|cancel}")
        if not can_control:
            raise _Closing(4403, "only the submitter and the class's instructors may send stdin or cancel")
        kind = data["type"]
        if kind == "stdin":
            payload = data.get("data")
            if not isinstance(payload, str):
                raise _Closing(4400, "stdin: data must be a string")
            if len(payload) > MAX_STDIN:
                raise _Closing(4400, f"stdin: at most {MAX_STDIN} characters per message")
            if service.dispatcher is not None:
                await service.dispatcher.send_stdin(run_id, payload)
        elif kind == "stdin_eof":
            if service.dispatcher is not None:
                await service.dispatcher.send_stdin(run_id, None)
        else:
            await _cancel(service, run_id)


def routes() -> list[BaseRoute]:
    websockets = cast(Any, openapi.WEBSOCKETS)
    path = "/api/runs/{run_id}/stream?token=JWT"
    if isinstance(websockets, dict):
        websockets[path] = STREAM_DOC
    elif (path, STREAM_DOC) not in websockets:
        websockets.append((path, STREAM_DOC))
    return [submit_run, get_run, cancel_run, room_runs, WebSocketRoute("/api/runs/{run_id}/stream", stream_run)]
