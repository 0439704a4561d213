"""The authorization matrix: every HTTP route and WebSocket × every actor, each cell asserted, on both engines.

How to add rows (a new feature's routes *must* join, or :func:`test_every_route_has_a_row` fails):

1. Create ``tests/authz/rows_<feature>.py`` with ``ROWS: list[Case]`` (see :mod:`authz_harness`); name every
   actor in each row (use ``cells(...)``, ``signed_in(...)`` or ``everyone(...)``). ``path`` is the route's path
   template exactly as declared; ``url(world)`` fills in a concrete object from :mod:`authz_world`.
2. If the rows need more objects, define ``async def setup(world)`` in the module and put them in
   ``world.extra``.
3. Run ``pytest tests/authz``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from authz_harness import Case, LiveServer, app_settings, http_cell, route_keys, started, ws_cell
from authz_world import ACTORS, World, build_world
from piccolo.engine.base import Engine
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from classroom.app import create_app
from classroom.settings import Settings

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))


def _row_modules() -> list[Any]:
    modules = []
    for path in sorted(HERE.glob("rows_*.py")):
        spec = importlib.util.spec_from_file_location(f"authz_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


MODULES = _row_modules()
ROWS: list[tuple[Case, Any]] = [(case, module) for module in MODULES for case in module.ROWS]


@pytest.fixture
async def matrix_app(database: Engine[Any], tmp_path: Path) -> AsyncIterator[Starlette]:
    app = create_app(app_settings(tmp_path, database))
    async with started(app):
        yield app


async def _world(app: Starlette, module: Any) -> World:
    world = await build_world(app.state.settings)
    setup: Callable[[World], Awaitable[None]] | None = getattr(module, "setup", None)
    if setup is not None:
        await setup(world)
    return world


@pytest.mark.anyio
@pytest.mark.parametrize(("case", "module"), ROWS, ids=[case.id for case, _ in ROWS])
async def test_matrix_row(case: Case, module: Any, matrix_app: Starlette) -> None:
    assert set(case.expect) == set(ACTORS), f"{case.id}: the row must name every actor"
    server = LiveServer(matrix_app)
    actual: dict[str, int] = {}
    transport = httpx.ASGITransport(matrix_app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            world = await _world(matrix_app, module)
            for actor in ACTORS:
                if case.fresh and actor != ACTORS[0]:
                    world = await _world(matrix_app, module)
                if case.method == "WS":
                    actual[actor] = await ws_cell(server, case, world, actor)
                else:
                    actual[actor] = await http_cell(client, case, world, actor)
    finally:
        await server.close()
    assert actual == dict(case.expect)


@pytest.mark.anyio
async def test_every_route_has_a_row(settings: Settings) -> None:
    """A route without a row fails here: add it to a ``rows_*.py`` module (see this module's docstring). Every
    method a route really answers counts, class-based and raw ASGI endpoints and mounts included (probed)."""
    served = await route_keys(list(create_app(settings).routes))
    covered = {(case.method, case.path) for case, _ in ROWS}
    assert sorted(served - covered) == [], "routes without an authorization-matrix row"
    assert sorted(covered - served) == [], "matrix rows for routes the app does not serve"


@pytest.mark.anyio
async def test_route_keys_count_every_method_a_route_really_answers(tmp_path: Path) -> None:
    """Class-based endpoints, raw ASGI apps and mounts declare no methods: they are probed, so each method they
    answer needs its row (they used to add no key, or one GET key, and served unauthenticated unnoticed)."""

    class Things(HTTPEndpoint):
        async def get(self, request: Request) -> Response:
            return PlainTextResponse("all")

        async def delete(self, request: Request) -> Response:
            return PlainTextResponse("gone")

    class Raw:  # an ASGI app object (a plain function would be taken for a GET request handler)
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "websocket":
                await receive()
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 1000})
                return
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"anything"})

    async def fn(request: Request) -> Response:
        return PlainTextResponse("fn")

    async def ws(websocket: Any) -> None:
        await websocket.close()

    routes = [
        Route("/things", Things),
        Route("/raw", Raw()),
        Route("/fn/{x}", fn, methods=["GET", "POST"]),
        WebSocketRoute("/ws", ws),
        Mount("/mounted", app=Raw()),
        Mount("/static", app=StaticFiles(directory=tmp_path)),
        Mount("/api", routes=[Route("/inner", Things)]),
    ]
    every = {(m, "/raw") for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    assert await route_keys(routes) == {
        ("GET", "/things"),
        ("DELETE", "/things"),
        *every,
        ("GET", "/fn/{x}"),
        ("POST", "/fn/{x}"),
        ("WS", "/ws"),
        *{(m, "/mounted/{path}") for m, _ in every},
        ("WS", "/mounted/{path}"),
        ("GET", "/static/{path}"),
        ("GET", "/api/inner"),
        ("DELETE", "/api/inner"),
    }
