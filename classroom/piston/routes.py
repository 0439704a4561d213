"""``/piston/api/v2/...`` and ``/piston/{token}/api/v2/...``: the Piston v2 API subset (see
:mod:`classroom.piston.service`).

Authentication with our API tokens as Piston's clients can send them: ``Authorization: Bearer <token>`` (or the
bare token, as Piston deployments with an API key take it) on the header routes; ``piston-client`` sends no
header at all, so its base URL carries the token as a path segment: ``piston({server: ".../piston/TOKEN"})``.
Tokens in paths are redacted from every log line (:mod:`classroom.auth.redaction`). The run's class:
:mod:`classroom.runs.owner` (``X-Classroom-Class``, or a student's class). The session cookie is never a
credential here, so a page cannot be made to run code on a signed-in user's behalf (the body may be
``text/plain``: piston-client sends its JSON without a JSON content type).

``WS .../api/v2/connect``: client ``{type: init, language, version, files, stdin?, args?, run_timeout?, ...}``
(within 1 s), then ``{type: data, stream: stdin, data}`` and ``{type: signal, signal: SIGKILL|SIGTERM|...}``;
server ``{type: runtime, language, version}``, ``{type: stage, stage: run}``, ``{type: data, stream, data}``,
``{type: exit, stage: run, code, signal}``, ``{type: error, message}``. Close codes as Piston's: 4000 already
initialized, 4001 initialization timeout, 4002 notified error (after an ``error`` message), 4003 not yet
initialized, 4004 can only write to stdin, 4005 invalid signal, 4999 job completed; and ours for the handshake:
4401 no/invalid token, 4403 origin not allowed. A socket that closes early cancels its run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any, cast

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from classroom import openapi
from classroom.api import MAX_JSON_BYTES, endpoint, parse_json
from classroom.auth.service import check_origin, settings_of, token_user, websocket_user
from classroom.errors import BadRequest, ClassroomError, PayloadTooLarge, RateLimited, Unauthenticated, close_reason
from classroom.piston import schemas, service
from classroom.piston.service import PistonError, Prepared
from classroom.runs.limits import clamped_header
from classroom.runs.owner import class_of_run
from classroom.runs.service import RunService
from classroom.tables import Run, User

INIT_SECONDS = 1.0  # Piston closes a socket that sends no init within 1 s
WAIT_SLACK_SECONDS = 60.0  # POST /execute waits this long beyond the wall limit (the queue) for the result
WS_DOC = (
    "Piston v2 interactive execution (token as a path segment, Authorization header, or ?token=). Client: "
    "{type: init, language, version, files, stdin?, args?, run_timeout?} within 1 s, {type: data, stream: stdin, "
    "data}, {type: signal, signal}. Server: {type: runtime}, {type: stage, stage: run}, {type: data, stream, data}, "
    "{type: exit, stage: run, code, signal}, {type: error, message}. Close codes (Piston's): 4000 already "
    "initialized, 4001 initialization timeout, 4002 notified error, 4003 not yet initialized, 4004 can only write "
    "to stdin, 4005 invalid signal, 4999 job completed; 4401 unauthenticated, 4403 origin not allowed."
)


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message, "error": code, "detail": message}, status_code=status, headers=headers)


def piston_errors(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Bad input and our typed errors answered in Piston's ``{message}`` shape (this API's edge mapping)."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except PistonError as exc:
            return _error(400, exc.message, "bad_request")
        except ClassroomError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
            return _error(exc.status, exc.detail, exc.code, headers)

    return run


async def piston_user(conn: HTTPConnection) -> User:
    """The caller: the token path segment if the route has one, else ``Authorization``; no cookies."""
    check_origin(settings_of(conn), conn)
    token = conn.path_params.get("token")
    if token is not None:
        return await token_user(conn, token)
    authorization = conn.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        return await token_user(conn, value if scheme.lower() == "bearer" else authorization)
    raise Unauthenticated("send an API token: Authorization: Bearer TOKEN, or the base URL .../piston/TOKEN")


def _runs(conn: HTTPConnection) -> RunService:
    runs: RunService = conn.app.state.runs
    return runs


async def _rate_limit(conn: HTTPConnection, user: User) -> None:
    limiter = getattr(conn.app.state, "rate_limiter", None)
    if limiter is not None:
        from classroom.auth.ratelimit import limits

        await limiter.hit(limits(settings_of(conn))["runs"], str(user.id))


async def _submit(
    conn: HTTPConnection, user: User, prepared: Prepared, *, interactive: bool, counted: bool = False
) -> str:
    """Submit as a normal run; ``counted``: the caller already counted it against the user's runs limit."""
    class_id = await class_of_run(conn, user)
    runs = _runs(conn)
    runs.require_dispatcher()
    if not counted:
        await _rate_limit(conn, user)
    run_id, _, _ = await runs.submit(
        user_id=str(user.id),
        class_id=class_id,
        files=prepared.files,
        entry=prepared.entry,
        stdin=prepared.stdin,
        args=prepared.args,
        interactive=interactive,
        limits=prepared.run_limits(),
    )
    return run_id


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_JSON_BYTES} bytes")
    if not raw:
        raise PistonError("request body is not valid JSON: it is empty")
    return parse_json(raw, "request body")  # strict: a BadRequest is answered 400 {message} like Piston's


async def _finished_with_output(runs: RunService, run_id: str, seconds: float) -> tuple[Run | None, str | None]:
    """The finished run and its output interleaved as it was produced (when this process streamed it)."""
    subscription = runs.hub.subscribe(run_id)
    output: list[str] | None = None
    if subscription is not None:
        history, live = subscription
        output = []
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    pending = list(history)
                    while True:
                        message = pending.pop(0) if pending else await live.get()
                        if message["type"] in ("stdout", "stderr"):
                            output.append(message["data"])
                        elif message["type"] == "retry":
                            output.clear()
                        elif message["type"] == "exit":
                            break
        finally:
            runs.hub.unsubscribe(run_id, live)
    row = await runs.wait_finished(run_id, seconds)
    if row is None:
        return None, None
    text = "".join(output) if output is not None else None
    if text is not None and len(text) != len((row.stdout or "") + (row.stderr or "")):
        text = None  # the stream kept less than the row (a long output): stdout then stderr
    return row, text


def _runtimes_handler() -> Callable[[Request], Awaitable[Response]]:
    async def runtimes(request: Request) -> Response:
        await piston_user(request)
        return JSONResponse(service.runtimes())

    return piston_errors(runtimes)


async def _execute(request: Request) -> Response:
    # Who is asking and their runs limit come before the body is read: past the limit, or without a credential,
    # a body costs no parse (then parsed strictly, at most 2 MiB: a hostile one is a 400 with its reason).
    user = await piston_user(request)
    await _rate_limit(request, user)
    request_body = await _read_json(request)
    prepared = service.prepare(request_body, settings_of(request))
    run_id = await _submit(request, user, prepared, interactive=False, counted=True)
    row, output = await _finished_with_output(_runs(request), run_id, prepared.wall_seconds + WAIT_SLACK_SECONDS)
    if row is None:
        return _error(503, f"run {run_id} is still waiting for an execution slot; try again later", "unavailable")
    body: dict[str, Any] = {
        "language": schemas.LANGUAGE,
        "version": service.version(),
        "run": service.run_result(row, output=output),
    }
    if prepared.clamped:
        body["clamped"] = prepared.clamped_out()
    return JSONResponse(body, headers=clamped_header(prepared.clamped))


def _declare(prefix: str) -> list[BaseRoute]:
    note = " (token in the path: for piston-client)" if "{token}" in prefix else ""
    runtimes = endpoint(
        "GET",
        prefix + "/api/v2/runtimes",
        summary="Piston: the runtimes served (Python)" + note,
        tag="piston",
        response=schemas.RuntimesOut,
        auth="token",
    )(_runtimes_handler())
    execute = endpoint(
        "POST",
        prefix + "/api/v2/execute",
        summary="Piston: run files (a normal run) and answer its result" + note,
        tag="piston",
        doc_body=schemas.ExecuteIn,
        response=schemas.ExecuteOut,
        errors=(400, 413, 429, 503),
        auth="token",
    )(piston_errors(_execute))
    return [runtimes, execute, WebSocketRoute(prefix + "/api/v2/connect", connect)]


# -- the WebSocket ----------------------------------------------------------------------------------------------


class _Close(Exception):
    def __init__(self, code: int, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.code, self.reason, self.message = code, reason, message


async def _ws_user(websocket: WebSocket) -> User:
    if websocket.path_params.get("token") is not None or websocket.headers.get("authorization"):
        return await piston_user(websocket)
    return await websocket_user(websocket)  # ?token= (a WS token from POST /api/tokens)


async def _receive(websocket: WebSocket, seconds: float | None = None) -> dict[str, Any]:
    try:
        async with asyncio.timeout(seconds):
            message = await websocket.receive()
    except TimeoutError:
        raise _Close(4001, "Initialization Timeout") from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None and message.get("bytes") is not None:
        text = message["bytes"].decode("utf-8", "replace")
    try:
        data = parse_json(text or "")
    except BadRequest as exc:
        raise _Close(4002, "Notified Error", exc.detail) from None
    if not isinstance(data, dict):
        raise _Close(4002, "Notified Error", "message must be a JSON object")
    return data


async def connect(websocket: WebSocket) -> None:
    try:
        user = await _ws_user(websocket)
    except ClassroomError as exc:
        await websocket.accept()
        await websocket.close(exc.close_code, close_reason(exc.detail))
        return
    await websocket.accept()
    run_id: str | None = None
    finished = False
    try:
        first = await _receive(websocket, INIT_SECONDS)
        if first.get("type") != "init":
            raise _Close(4003, "Not yet initialized")
        try:
            prepared = service.prepare(first, settings_of(websocket))
            run_id = await _submit(websocket, user, prepared, interactive=True)
        except PistonError as exc:
            raise _Close(4002, "Notified Error", exc.message) from None
        except ClassroomError as exc:
            raise _Close(4002, "Notified Error", exc.detail) from None
        await websocket.send_json({"type": "runtime", "language": schemas.LANGUAGE, "version": service.version()})
        runs = _runs(websocket)
        sent: list[str] = []
        pump = asyncio.create_task(_pump(websocket, runs, run_id, sent))
        reader = asyncio.create_task(_read(websocket, runs, run_id, sent))
        try:
            done, _ = await asyncio.wait({pump, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, reader):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        for task in done:
            failure = task.exception()
            if failure is not None:
                raise failure
        finished = pump in done
        raise _Close(4999, "Job Completed")
    except _Close as close:
        if close.message is not None:
            with contextlib.suppress(Exception):
                await websocket.send_json({"type": "error", "message": close.message})
        await _close(websocket, close.code, close.reason)
    except WebSocketDisconnect:
        pass
    finally:
        if run_id is not None and not finished:
            runs = _runs(websocket)
            if runs.dispatcher is not None:  # the client left: stop its program rather than keep the slot busy
                await runs.dispatcher.cancel(run_id)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code, close_reason(reason))


async def _pump(websocket: WebSocket, runs: RunService, run_id: str, sent: list[str]) -> None:
    """The run's stream as Piston messages, until its exit."""
    subscription = runs.hub.subscribe(run_id)
    if subscription is None:  # not streamed here (taken over by another replica): answer from the row
        row = await runs.wait_finished(run_id, 3600)
        if row is not None:
            await websocket.send_json({"type": "stage", "stage": "run"})
            for stream, text in (("stdout", row.stdout), ("stderr", row.stderr)):
                if text:
                    await websocket.send_json({"type": "data", "stream": stream, "data": text})
            result = service.run_result(row, sent_signal=sent[-1] if sent else None)
            await websocket.send_json(
                {"type": "exit", "stage": "run", "code": result["code"], "signal": result["signal"]}
            )
        return
    history, live = subscription
    pending = list(history)
    staged = False
    try:
        while True:
            message = pending.pop(0) if pending else await live.get()
            kind = message["type"]
            if kind == "started" and not staged:
                staged = True
                await websocket.send_json({"type": "stage", "stage": "run"})
            elif kind in ("stdout", "stderr"):
                await websocket.send_json({"type": "data", "stream": kind, "data": message["data"]})
            elif kind == "exit":
                row = await runs.wait_finished(run_id, 30)
                if row is not None:
                    result = service.run_result(row, sent_signal=sent[-1] if sent else None)
                    code, signal = result["code"], result["signal"]
                else:
                    code, signal = message.get("exit_code"), service.signal_name(message.get("signal"))
                await websocket.send_json({"type": "exit", "stage": "run", "code": code, "signal": signal})
                return
    finally:
        runs.hub.unsubscribe(run_id, live)


async def _read(websocket: WebSocket, runs: RunService, run_id: str, sent: list[str]) -> None:
    """The client's stdin and signals, until it goes away."""
    while True:
        data = await _receive(websocket)
        kind = data.get("type")
        if kind == "init":
            raise _Close(4000, "Already Initialized")
        if kind == "data":
            if data.get("stream") != "stdin":
                raise _Close(4004, "Can only write to stdin")
            text = data.get("data")
            if not isinstance(text, str):
                raise _Close(4002, "Notified Error", "data must be a string")
            if runs.dispatcher is not None:
                await runs.dispatcher.send_stdin(run_id, text)
        elif kind == "signal":
            name = data.get("signal")
            if name not in schemas.SIGNALS:
                raise _Close(4005, "Invalid signal")
            sent.append(str(name))
            if runs.dispatcher is not None:
                await runs.dispatcher.cancel(run_id)
        # other types are ignored, as Piston does


def routes() -> list[BaseRoute]:
    websockets = cast(Any, openapi.WEBSOCKETS)
    for path in ("/piston/api/v2/connect", "/piston/{token}/api/v2/connect"):
        if isinstance(websockets, dict):
            websockets[path] = WS_DOC
    return [*HEADER_ROUTES, *PATH_ROUTES]


HEADER_ROUTES = _declare("/piston")
PATH_ROUTES = _declare("/piston/{token}")
