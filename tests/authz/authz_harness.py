"""The authorization matrix's machinery: a row type, expectation helpers, the app under test, one cell's call.

A **row** (:class:`Case`) is one route (``method``, ``path`` exactly as declared, ``WS`` for WebSockets) with one
concrete target, and the expected outcome for **every** actor of :data:`authz_world.ACTORS`:

- HTTP: the status code (e.g. 200, 401, 403, 404).
- WebSocket: ``101`` when the socket opens and stays open, the close code when the server closes it right after
  the handshake (4401, 4403, 4404...), or the HTTP status when the handshake is refused (e.g. 403).

Actors authenticate with a bearer JWT (HTTP) or ``?token=`` (WebSockets); CSRF/Origin are covered by their own
tests. A row that changes state sets ``fresh=True`` so each actor meets a new world.
"""

from __future__ import annotations

import asyncio
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


def route_keys(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """Every ``(method, path)`` the app serves; ``WS`` for WebSockets; a static Mount is ``GET prefix/{path}``."""
    keys: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Route):
            for method in route.methods or ():
                if method != "HEAD":
                    keys.add((method, prefix + route.path))
        elif isinstance(route, WebSocketRoute):
            keys.add(("WS", prefix + route.path))
        elif isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if inner:
                keys |= route_keys(list(inner), prefix + route.path)
            else:
                keys.add(("GET", prefix + route.path + "/{path}"))
        else:
            keys.add(("UNKNOWN", f"{prefix}{getattr(route, 'path', type(route).__name__)}"))
    return keys


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
        async with websockets.connect(url, open_timeout=5) as ws:
            try:
                await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                return 101
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else 1006
            return 101
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
