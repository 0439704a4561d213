"""The authorization matrix's machinery: a row type, expectation helpers, the app under test, one cell's call.

A **row** (:class:`Case`) is one route (``method``, ``path`` exactly as declared, ``WS`` for WebSockets) with one
concrete target, and the expected outcome for **every** actor of :data:`authz_world.ACTORS`:

- HTTP: the status code (e.g. 200, 401, 403, 404).
- WebSocket: ``101`` when the socket opens and answers a ping, the close code when the server closes it right
  after the handshake (4401, 4403, 4404...), or the HTTP status when the handshake is refused (e.g. 403).

Actors authenticate with a bearer JWT (HTTP) or ``?token=`` (WebSockets); CSRF/Origin are covered by their own
tests. A row that changes state sets ``fresh=True`` so each actor meets a new world.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from authz_world import ACTORS, World
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from classroom.settings import Settings, load_settings

# Components the matrix does not start: the fixture owns the database; Ray and the sandbox probe are not needed
# to decide who may do what.
SKIPPED_COMPONENTS = ("database", "ray", "sandbox")


def engine_url(engine: Any) -> str:
    """The URL of a test database engine, so the app's own components reach the same database."""
    path = getattr(engine, "path", None)
    if path:
        return f"sqlite:///{path}"
    return str(engine.config["dsn"])


def app_settings(tmp_path: Path, engine: Any, **extra: str) -> Settings:
    """Settings for an in-process app on the fixture's database, without Ray; ``extra`` adds CLASSROOM_* values."""
    env = {
        "CLASSROOM_DATA_DIR": str(tmp_path / "data"),
        "CLASSROOM_DATABASE_URL": engine_url(engine),
        "CLASSROOM_START_RAY": "false",
        "CLASSROOM_ADMIN_TOKEN": "matrix-admin-token-0123456789abcdef",
    }
    env.update({f"CLASSROOM_{k.upper()}": v for k, v in extra.items()})
    return load_settings(env, dotenv=None)


def cells(**statuses: int) -> dict[str, int]:
    """An expectation naming every actor exactly once (a missing or unknown actor is an error in the row)."""
    missing, unknown = set(ACTORS) - set(statuses), set(statuses) - set(ACTORS)
    if missing or unknown:
        raise ValueError(f"a row must name every actor: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return dict(statuses)


def everyone(status: int) -> dict[str, int]:
    return {actor: status for actor in ACTORS}


def signed_in(status: int = 200, **overrides: int) -> dict[str, int]:
    """401 for anonymous, ``status`` for every signed-in actor unless overridden."""
    return cells(**{**{a: status for a in ACTORS}, "anonymous": 401, **overrides})


@dataclass(frozen=True)
class Case:
    method: str  # GET, POST, PUT, PATCH, DELETE, or WS
    path: str  # the route's path template as declared (this is what coverage matches)
    expect: Mapping[str, int]
    url: Callable[[World], str] | None = None  # the concrete URL (default: ``path`` itself)
    body: Callable[[World], Any] | None = None  # JSON body for HTTP cells
    fresh: bool = False  # the request changes state: build a new world for each actor
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.note}]" if self.note else "")


WS_DEADLINE = 30.0
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PROBE_SECONDS = 10.0


async def route_keys(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """Every ``(method, path)`` the app really answers; ``WS`` for WebSockets.

    A function route answers the methods it declares (Starlette answers 405 to the others). Anything that declares
    none — a class-based ``HTTPEndpoint``, a raw ASGI app, a ``Mount`` without ``.routes`` (static files), a route
    type we do not know — is *probed*: called with each HTTP method (and a WebSocket handshake, for mounts) on a
    concrete path, and every method not answered with 405 counts. So a new route of any kind needs a full row.
    A mount's keys are ``prefix/{path}``.
    """
    keys: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods is not None:
            keys |= {(m, prefix + route.path) for m in route.methods if m != "HEAD"}
        elif isinstance(route, Route):
            answered = await probe_methods(route.app, prefix + route.path)
            keys |= {(m, prefix + route.path) for m in answered}
        elif isinstance(route, WebSocketRoute):
            keys.add(("WS", prefix + route.path))
        elif isinstance(route, Mount) and getattr(route.app, "routes", None):
            keys |= await route_keys(list(route.app.routes), prefix + route.path)
        elif isinstance(route, Mount):
            template = prefix + route.path + "/{path}"
            keys |= {(m, template) for m in await probe_methods(route.app, template)}
            if await probe_websocket(route.app, template):
                keys.add(("WS", template))
        else:
            path = prefix + str(getattr(route, "path", type(route).__name__))
            keys |= {(m, path) for m in await probe_methods(route, path)} or {("UNKNOWN", path)}
    return keys


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "probe", template)


async def probe_methods(app: Any, template: str) -> set[str]:
    """The HTTP methods ``app`` answers with anything but 405 at a concrete path of ``template``.

    An app that fails or hangs on a method counts as answering it: it did not refuse it.
    """
    answered = set()
    for method in HTTP_METHODS:
        status = await _call(app, _scope("http", method, _concrete(template)))
        if status != 405:
            answered.add(method)
    return answered


async def probe_websocket(app: Any, template: str) -> bool:
    """Whether ``app`` accepts (or does anything but refuse) a WebSocket handshake at ``template``."""
    return await _call(app, _scope("websocket", "GET", _concrete(template))) == 101


def _scope(kind: str, method: str, path: str) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http" if kind == "http" else "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    if kind == "http":
        scope["method"] = method
    return scope


async def _call(app: Any, scope: dict[str, Any]) -> int:
    """The HTTP status (101: a WebSocket accepted, 403: refused) ``app`` answered; 0 if it failed or hung."""
    messages = [{"type": "http.request", "body": b"", "more_body": False}]
    if scope["type"] == "websocket":
        messages = [{"type": "websocket.connect"}]
    status = 0

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(PROBE_SECONDS)
        return {"type": "http.disconnect" if scope["type"] == "http" else "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        kind = message["type"]
        if kind == "http.response.start":
            status = status or int(message["status"])
        elif kind == "websocket.accept":
            status = status or 101
        elif kind in ("websocket.close", "websocket.http.response.start"):
            status = status or 403

    try:
        await asyncio.wait_for(app(scope, receive, send), PROBE_SECONDS)
    except HTTPException as refused:  # the app's exception middleware makes this the response
        status = status or refused.status_code
    except Exception:  # a crash or a hang is not a refusal: the method counts as answered
        pass
    return status


@asynccontextmanager
async def started(app: Starlette) -> AsyncIterator[Starlette]:
    """Start the app's components except :data:`SKIPPED_COMPONENTS`; stop them afterwards."""
    running = []
    try:
        for part in app.state.components:
            if part.name not in SKIPPED_COMPONENTS:
                await part.start()
                running.append(part)
        yield app
    finally:
        for part in reversed(running):
            await part.stop()


@dataclass
class LiveServer:
    """A real uvicorn on a free loopback port in the test's event loop (for WebSocket cells), started lazily."""

    app: Starlette
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _sock: socket.socket | None = field(default=None, repr=False)

    async def url(self) -> str:
        if self._server is None:
            self._sock = socket.socket()
            self._sock.bind(("127.0.0.1", 0))
            self.port = self._sock.getsockname()[1]
            config = uvicorn.Config(self.app, lifespan="off", log_level="warning", ws_max_size=1 << 20)
            self._server = uvicorn.Server(config)
            self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.01)
        return f"ws://127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


async def http_cell(client: httpx.AsyncClient, case: Case, world: World, actor: str) -> int:
    url = case.url(world) if case.url else case.path
    body = case.body(world) if case.body else None
    response = await client.request(case.method, url, headers=world.headers(actor), json=body)
    if 400 <= response.status_code < 500:  # every refusal is the edge's JSON error
        data = response.json()
        assert set(data) >= {"error", "detail"}, f"{case.id} as {actor}: error body {data}"
    return response.status_code


async def ws_cell(server: LiveServer, case: Case, world: World, actor: str) -> int:
    url = (await server.url()) + (case.url(world) if case.url else case.path)
    token = world.ws_token(actor)
    if token is not None:
        url += ("&" if "?" in url else "?") + f"token={token}"
    try:
        async with websockets.connect(url, open_timeout=WS_DEADLINE) as ws:
            # A refused socket is closed right after the handshake, before the server reads anything we send; an
            # accepted one answers our ping. So wait for the pong or the close (events, with a generous deadline),
            # not for a quiet half second that a loaded machine may not keep. 0: neither came (a failing cell).
            try:
                pong = await ws.ping()
                await asyncio.wait_for(pong, WS_DEADLINE)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else 1006
            except TimeoutError:
                return 0
            return 101
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
