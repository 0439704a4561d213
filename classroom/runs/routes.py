"""``/api/runs``: submit, read, cancel and stream runs; ``/api/rooms/{id}/runs``: a room's recent runs.

Who may do what follows :func:`classroom.auth.access.run_access`: the submitter, the run's room's members and the
class's instructors read and stream; only the submitter and the instructors send stdin and cancel. A run the
user may not see answers 404 (ids cannot be probed).

``WS /api/runs/{id}/stream?token=JWT`` — server messages: ``{"type":"queued","position":n}``,
``{"type":"started","attempt":n}``, ``{"type":"stdout"|"stderr","data":text}``, ``{"type":"retry",
"attempt":n,"reason":text}`` (a slot died: the output so far is void, the run starts again), and last
``{"type":"exit", verdict, exit_code, signal, wall_ms, cpu_ms, peak_memory_bytes, stdout_truncated,
stderr_truncated, error, detail}``, then close 1000. Client messages: ``{"type":"stdin","data":text}``,
``{"type":"stdin_eof"}``, ``{"type":"cancel"}``. A late subscriber gets everything so far, then live output.
Close codes: 4400 malformed message, 4401 no/invalid token, 4403 not allowed to control the run (or the
viewer was removed from the run's class: the socket is registered with :mod:`classroom.presence.service`), 4404 no such
run, 1013 runs unavailable.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from starlette.requests import HTTPConnection, Request
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from classroom import courses, openapi
from classroom.api import endpoint, parse_json
from classroom.auth.access import class_access, parse_id, room_access, run_access
from classroom.auth.ratelimit import limits
from classroom.auth.service import require_user, websocket_user
from classroom.courses.format import tests_from_text
from classroom.errors import BadRequest, ClassroomError, Forbidden, NotFound, close_reason
from classroom.presence import service as presence
from classroom.runs.hub import echo_stdin
from classroom.runs.schemas import (
    MAX_STDIN,
    CancelOut,
    FileOut,
    RoomRunsOut,
    RunAccepted,
    RunCodeOut,
    RunIn,
    RunOut,
    RunSummary,
)
from classroom.runs.service import RunService, exit_message
from classroom.tables import Room, Run, User

POLL_SECONDS = 0.5
RELAY_PATIENCE_SECONDS = 1.0  # silence from a run's owner before the row is read and the owner asked again
STREAM_DOC = (
    "A run's live output. Token in ?token= (POST /api/tokens). Server: {type: queued, position}, {type: started}, "
    "{type: stdout|stderr, data}, {type: retry, attempt, reason}, then {type: exit, verdict, exit_code, signal, "
    "wall_ms, cpu_ms, peak_memory_bytes, error, ...} and close 1000. Client: {type: stdin, data}, "
    "{type: stdin_eof}, {type: cancel} (submitter and instructors only). A late subscriber gets everything so far. "
    "Close codes: 4400 malformed message, 4401 unauthenticated, 4403 not allowed or removed from the class, "
    "4404 no such run."
)
Send = Callable[[dict[str, Any]], Awaitable[None]]  # one message of a run's stream to its client
REMOVED_CLOSE_CODE = 4403  # as a room socket's (classroom.rooms.service): the viewer was removed from the class


def service_of(conn: HTTPConnection) -> RunService:
    service: RunService = conn.app.state.runs
    return service


async def _visible_run(user: User, run_id: str) -> Run:
    rid = parse_id(run_id, "run")
    run = await Run.objects().where(Run.id == rid).first().run()
    if run is None or not await run_access(user, run):
        raise NotFound("no such run")
    return run


async def count_run(conn: HTTPConnection, user: User) -> None:
    """One run against ``user``'s runs-per-minute limit: :class:`RateLimited` when over (both ways of starting a
    run count against the same limit, shared by replicas through Redis)."""
    limiter = getattr(conn.app.state, "rate_limiter", None)
    if limiter is not None:
        await limiter.hit(limits(service_of(conn).settings)["runs"], str(user.id))


async def _submit_guard(request: Request) -> None:
    """Before the body is read: who is asking, and their runs-per-minute limit."""
    user = await require_user(request)
    await count_run(request, user)
    request.state.user = user


@endpoint(
    "POST",
    "/api/runs",
    summary="Submit a run (the room's files, or files/code); answers at once with its queue position.",
    tag="runs",
    body=RunIn,
    response=RunAccepted,
    status=202,
    errors=(403, 404, 429, 503),
    before=_submit_guard,
)
async def submit_run(request: Request, body: RunIn) -> RunAccepted:
    return await start_run(request, request.state.user, body)


async def start_run(conn: HTTPConnection, user: User, body: RunIn) -> RunAccepted:
    """Accept a run of ``user`` (already authenticated and counted against the rate limit): the access and
    membership rules, then the row and the dispatcher. The HTTP route and the room socket
    (:mod:`classroom.runs.live`) both start runs here. Raises :class:`Forbidden`, :class:`NotFound`,
    :class:`BadRequest` or :class:`Unavailable` as the route answers them."""
    service = service_of(conn)
    access = None if body.room_id is None else await room_access(user, body.room_id)
    if access is not None and not access.can_write:
        # A room's runs are its shared console: a viewer (a student watching a demo) runs their own fork instead.
        raise Forbidden("you are watching this room: fork it into your own room to run the code yourself")
    # A run belongs to a class its author is a member of (a room's, or one named): a student removed from
    # their classes can run nothing. Staff may also run outside any class (their own scratch work).
    klass = None if body.class_id is None else await class_access(user, body.class_id)
    if access is None and klass is None and user.role == "student":
        raise Forbidden("a student's run needs room_id or class_id: a room or class you are a member of")
    service.require_dispatcher()
    room_id = exercise = None
    lesson: tuple[Any, bool] | None = None
    class_id = None if klass is None else str(klass.class_id)
    state_vector = None
    priority = 0
    if access is not None:
        room_id, class_id = str(access.room.id), str(access.class_id)
        rooms = getattr(conn.app.state, "rooms", None)
        if rooms is None:
            raise BadRequest("room_id: rooms are not served by this process")
        # The files and the state vector are read in one step of the event loop: they describe the same document.
        files, state_vector = await rooms.files(room_id), await rooms.state_vector(room_id)
        if access.room.kind == "demo" and access.is_instructor:
            priority = 1  # the whole class is waiting on the instructor's demo
        exercise, lesson = await _lesson_of(access.room)
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
        exercise=exercise,
        lesson=lesson,
    )
    if room_id is not None:
        service.announce(
            room_id,
            {
                "id": run_id,
                "user_id": str(user.id),
                "display_name": user.display_name,
                "status": status,
                "verdict": None,
                "exit_code": None,
                "wall_ms": None,
                "created_at": datetime.now(UTC).isoformat(),
                "finished_at": None,
            },
        )
    return RunAccepted(id=run_id, status=status, queue_position=position)


async def _lesson_of(room: Room) -> tuple[str | None, tuple[Any, bool] | None]:
    """The room's exercise for analytics: ``course/slug`` and (its current version's id, has hidden tests)."""
    if not room.lesson:
        return None, None
    course, _, slug = str(room.lesson).partition("/")
    found = await courses.get_lesson(course, slug)
    if found is None:
        return str(room.lesson), None
    return str(room.lesson), (found.id, bool(tests_from_text(found.hidden_tests)))


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
            "kind": run.kind or "run",
            "exercise": run.exercise,
            "grade": _json(run.grade),
            "score": run.score,
        }
    )


def _json(value: Any) -> Any:
    """A JSON column's value (piccolo hands some engines' JSON back as text)."""
    return json.loads(value) if isinstance(value, str) else value


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
    if service.dispatcher is not None and await service.dispatcher.cancel(run_id):
        return True
    cancelled = {"verdict": "cancelled", "detail": "cancelled before it started"}
    if await service.queue.finish(run_id, cancelled, only_queued=True):
        return True
    # Running under another replica's dispatcher: its owner cancels it (the request is relayed, not awaited).
    row = await Run.select(Run.status).where(Run.id == uuid.UUID(run_id)).first().run()
    if row is not None and row["status"] == "running" and service.relay.crosses:
        service.relay.control(run_id, "cancel")
        return True
    return False


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
    return RoomRunsOut(runs=await recent_runs(access.room.id))


async def recent_runs(room_id: uuid.UUID, limit: int = 50) -> list[RunSummary]:
    """The room's latest runs, newest first, with the name of who started each."""
    rows = (
        await Run.select(
            *(Run.id, Run.user, Run.user.display_name, Run.status, Run.verdict, Run.exit_code, Run.wall_ms),
            *(Run.created_at, Run.finished_at, Run.kind, Run.score),
        )
        .where(Run.room == room_id)
        .order_by(Run.created_at, ascending=False)
        .limit(limit)
        .run()
    )
    return [
        RunSummary(
            id=str(r["id"]),
            user_id=str(r["user"]),
            display_name=r["user.display_name"] or "",
            **{
                k: r[k]
                for k in ("status", "verdict", "exit_code", "wall_ms", "created_at", "finished_at", "kind", "score")
            },
        )
        for r in rows
    ]


@endpoint(
    "GET",
    "/api/runs/{run_id}/code",
    summary="The code a run ran (the room's files when it was submitted) and the document state they came from.",
    tag="runs",
    response=RunCodeOut,
    errors=(404,),
)
async def run_code(request: Request) -> RunCodeOut:
    user = await require_user(request)
    run = await _visible_run(user, request.path_params["run_id"])
    stored = run.files if isinstance(run.files, dict) else json.loads(run.files or "{}")
    files = [FileOut(name=k, content=v) for k, v in sorted(stored.items()) if isinstance(v, str)]
    vector = None if run.state_vector is None else base64.b64encode(bytes(run.state_vector)).decode()
    return RunCodeOut(id=str(run.id), entry=run.entry, files=files, state_vector=vector)


# -- the stream -------------------------------------------------------------------------------------------------


class Closing(Exception):
    """Close the socket with ``code`` and ``reason`` (raised by a socket's tasks, mapped by its handler)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


@dataclass(frozen=True)
class RunRights:
    """What one user may do with one run they may see (:func:`classroom.auth.access.run_access`)."""

    run_id: str
    can_control: bool  # cancel (and, as submitter, stdin)
    is_submitter: bool
    class_id: uuid.UUID | None
    room_id: str | None


async def run_rights(service: RunService, user: User, run_id: object) -> RunRights:
    """``user``'s rights on a run; :class:`NotFound` when they may not see it (or it does not exist)."""
    rid = str(parse_id(run_id, "run"))
    # A run this process streams carries its owner ids: the access check needs no query of the row.
    run: Any = service.hub.meta(rid)
    if run is None or not await run_access(user, run):
        run = await _visible_run(user, rid)
    can_control = await run_access(user, run, control=True)
    submitter = run.get("user") if isinstance(run, dict) else run.user
    room = run.get("room") if isinstance(run, dict) else run.room
    is_submitter = str(getattr(submitter, "id", submitter)) == str(user.id)
    room_id = None if room is None else str(getattr(room, "id", room))
    return RunRights(rid, can_control, is_submitter, await _class_of(run), room_id)


async def stream_run(websocket: WebSocket) -> None:
    try:
        user = await websocket_user(websocket)
        service = service_of(websocket)
        rights = await run_rights(service, user, websocket.path_params["run_id"])
    except ClassroomError as exc:
        await websocket.accept()
        await websocket.close(exc.close_code, close_reason(exc.detail))
        return
    await websocket.accept()
    removed, ended = asyncio.Event(), asyncio.Event()

    async def close() -> None:
        # Removal from the run's class: the handler stops streaming and closes; close_user waits for that.
        removed.set()
        await ended.wait()

    unregister = None
    if rights.class_id is not None:  # a run outside any class is no class's business
        unregister = presence.register(user.id, close, class_id=rights.class_id, display_name=user.display_name)
    sender = asyncio.create_task(send_run(websocket.send_json, service, rights.run_id))
    receiver = asyncio.create_task(_receive(websocket, service, rights))
    removal = asyncio.create_task(removed.wait())
    try:
        done, _ = await asyncio.wait({sender, receiver, removal}, return_when=asyncio.FIRST_COMPLETED)
        if removal in done:
            await _stop(sender, receiver)  # nothing else may write to the socket while it closes
            await _close(websocket, REMOVED_CLOSE_CODE, "you were removed from this class")
            return
        for task in done:
            failure = task.exception()
            if isinstance(failure, Closing):
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
            await websocket.close(code, close_reason(reason))


async def _send_stdin(service: RunService, run_id: str, data: str | None) -> None:
    """To this replica's dispatcher when it runs the run, else to every replica (see :mod:`classroom.runs.relay`):
    a queued run may be claimed by any of them, and each one holding it keeps the input until then."""
    dispatcher = service.dispatcher
    if (dispatcher is not None and dispatcher.runs_here(run_id)) or not service.relay.crosses:
        if dispatcher is not None:
            await dispatcher.send_stdin(run_id, data)
            echo_stdin(service.hub, run_id, data)
    else:
        service.relay.control(run_id, "stdin" if data is not None else "eof", data)


async def send_run(send: Send, service: RunService, run_id: str) -> None:
    """Send ``run_id``'s stream through ``send`` until its exit message: live from this process's hub, relayed from
    the replica that runs it, or read from its row. :class:`Closing` 4404 when the run does not exist."""
    last_position = None
    while True:
        dispatcher = service.dispatcher
        if (dispatcher is not None and dispatcher.is_local(run_id)) or service.hub.has(run_id):
            subscription = service.hub.subscribe(run_id)
            if subscription is not None and await _send_live(send, service, run_id, subscription):
                return
        if service.relay.crosses:
            await _send_relayed(send, service, run_id)
            return
        # Not (yet) ours: another replica runs it, or our dispatcher has not reloaded it. Follow the row.
        row = await Run.objects().where(Run.id == uuid.UUID(run_id)).first().run()
        if row is None:
            raise Closing(4404, "no such run")
        if row.status == "finished":
            await _send_finished(send, row)
            return
        if row.status == "queued":
            position = (dispatcher.position(run_id) if dispatcher else 0) or None
            if position != last_position:
                await send({"type": "queued", "position": position})
                last_position = position
        await asyncio.sleep(POLL_SECONDS)


async def _send_relayed(send: Send, service: RunService, run_id: str) -> None:
    """Stream a run another replica holds: its owner relays history and live messages (see
    :mod:`classroom.runs.relay`); the row says where the run stands when nobody answers (queued, finished)."""
    seen = -1
    heard = False
    last_status = None
    sent = Sent()
    async with service.relay.follow(run_id) as relayed:
        while True:
            try:
                seq, message = await asyncio.wait_for(relayed.get(), timeout=RELAY_PATIENCE_SECONDS)
            except TimeoutError:
                row = await Run.objects().where(Run.id == uuid.UUID(run_id)).first().run()
                if row is None:
                    raise Closing(4404, "no such run") from None
                if row.status == "finished" and relayed.empty():
                    # The row is written before the owner publishes the exit: send only what the relay did not.
                    await _send_finished(send, row, sent)
                    return
                if row.status == "queued" and last_status != "queued":
                    await send({"type": "queued", "position": None})
                if not heard or row.status != last_status:
                    service.relay.control(run_id, "watch")  # no owner yet, or a new one: ask again
                last_status = row.status
                continue
            heard = True
            if seq <= seen:
                continue  # replayed for another follower
            seen = seq
            sent.note(message)
            await send(message)
            if message["type"] == "exit":
                return


async def _send_live(
    send: Send, service: RunService, run_id: str, subscription: tuple[list[dict[str, Any]], Any]
) -> bool:
    """Stream from this process's hub. False when another replica took the run while it waited here (it was
    submitted here, or retried here after its slot died, then claimed from the shared queue elsewhere): the caller
    follows it there instead."""
    history, live = subscription
    dispatcher = service.dispatcher
    last_position = 0

    async def queued_position() -> None:
        nonlocal last_position
        position = dispatcher.position(run_id) if dispatcher is not None else 0
        if position and position != last_position:
            await send({"type": "queued", "position": position})
            last_position = position

    try:
        # Started here and not given back since: a retry puts the run back in the shared queue, where any
        # replica's dispatcher may claim it (then its stream is that replica's, followed through the relay).
        started = _started(history)
        if not started:
            await queued_position()
        for message in history:
            await send(message)
            if message["type"] == "exit":
                return True
        while True:
            try:
                message = await asyncio.wait_for(live.get(), timeout=None if started else POLL_SECONDS * 2)
            except TimeoutError:
                if not started and await _taken_elsewhere(service, run_id):
                    return False
                await queued_position()  # the queue moved: tell the waiting console where it stands
                continue
            started = _started([message]) if message["type"] in PHASES else started
            await send(message)
            if message["type"] == "exit":
                return True
    finally:
        service.hub.unsubscribe(run_id, live)


PHASES = ("started", "exit", "retry")


def _started(messages: list[dict[str, Any]]) -> bool:
    """Whether the last phase among ``messages`` is a start (or the end), not a retry or nothing yet."""
    phases = [m["type"] for m in messages if m["type"] in PHASES]
    return bool(phases) and phases[-1] != "retry"


async def _taken_elsewhere(service: RunService, run_id: str) -> bool:
    """Whether a run this process has not started is no longer waiting here: another replica's dispatcher claimed
    it (or it ended) — its stream is that replica's (reached through the relay) or the row's."""
    if service.dispatcher is not None and service.dispatcher.is_local(run_id):
        return False
    row = await Run.select(Run.status).where(Run.id == uuid.UUID(run_id)).first().run()
    return row is None or row["status"] != "queued"


class Sent:
    """What a stream has already sent of a run's current attempt (a retry starts the count again)."""

    def __init__(self) -> None:
        self.started = False
        self.chars = {"stdout": 0, "stderr": 0}

    def note(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("started", "retry"):
            self.started = kind == "started"
            self.chars = {"stdout": 0, "stderr": 0}
        elif kind in self.chars:
            self.chars[str(kind)] += len(str(message.get("data") or ""))


async def _send_finished(send: Send, row: Run, sent: Sent | None = None) -> None:
    """The run's end from its row; with ``sent``, only what the stream has not sent yet."""
    sent = sent or Sent()
    if not sent.started:
        await send({"type": "started", "attempt": row.attempts})
    for stream, text in (("stdout", row.stdout), ("stderr", row.stderr)):
        rest = (text or "")[sent.chars[stream] :]
        if rest:
            await send({"type": stream, "data": rest})
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
    if row.kind == "grade":
        result.update(grade=_json(row.grade), fraction=row.score)
    await send(exit_message(result))


async def _receive(websocket: WebSocket, service: RunService, rights: RunRights) -> None:
    """Client messages. stdin comes only from who started the run (their classmates see it echoed, through the
    run's stream); cancel from them and the class's instructors."""
    while True:
        try:
            kind, payload = parse_control(await receive_json(websocket))
        except BadRequest as exc:
            raise Closing(4400, exc.detail) from None
        try:
            await control_run(service, rights, kind, payload)
        except Forbidden as exc:
            raise Closing(4403, exc.detail) from None


async def receive_json(websocket: WebSocket) -> Any:
    """The client's next text frame as strict JSON (:func:`classroom.api.parse_json`): :class:`BadRequest` when it
    is not, :class:`Closing` 4400 for a binary frame, ``WebSocketDisconnect`` when the client left."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise Closing(4400, "expected JSON text messages, got binary")
    return parse_json(text)


CONTROLS = ("stdin", "stdin_eof", "cancel")


def parse_control(data: Any) -> tuple[str, str | None]:
    """A client's ``{type: stdin, data} | {type: stdin_eof} | {type: cancel}`` as (kind, text);
    :class:`BadRequest` for anything else."""
    if not isinstance(data, dict) or data.get("type") not in CONTROLS:
        raise BadRequest("expected {type: stdin|stdin_eof|cancel}")
    kind = str(data["type"])
    if kind != "stdin":
        return kind, None
    payload = data.get("data")
    if not isinstance(payload, str):
        raise BadRequest("stdin: data must be a string")
    if len(payload) > MAX_STDIN:
        raise BadRequest(f"stdin: at most {MAX_STDIN} characters per message")
    return kind, payload


async def control_run(service: RunService, rights: RunRights, kind: str, payload: str | None) -> None:
    """Apply a parsed control message to a run, wherever it runs. :class:`Forbidden` unless the sender may:
    stdin only from who started the run, cancel from them and the class's instructors."""
    if not rights.can_control:
        raise Forbidden("only the submitter and the class's instructors may send stdin or cancel")
    if kind in ("stdin", "stdin_eof") and not rights.is_submitter:
        raise Forbidden("only the person who started the run may type its input")
    if kind == "stdin":
        await _send_stdin(service, rights.run_id, payload)
    elif kind == "stdin_eof":
        await _send_stdin(service, rights.run_id, None)
    else:
        await _cancel(service, rights.run_id)


def routes() -> list[BaseRoute]:
    websockets = cast(Any, openapi.WEBSOCKETS)
    path = "/api/runs/{run_id}/stream?token=JWT"
    if isinstance(websockets, dict):
        websockets[path] = STREAM_DOC
    elif (path, STREAM_DOC) not in websockets:
        websockets.append((path, STREAM_DOC))
    return [
        submit_run,
        get_run,
        run_code,
        cancel_run,
        room_runs,
        WebSocketRoute("/api/runs/{run_id}/stream", stream_run),
    ]
