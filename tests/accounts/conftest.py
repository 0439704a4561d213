"""Fixtures of the accounts tests: the real app on the test database (its components minus Ray and the sandbox
probe), an in-process HTTP client, a live loopback server for WebSockets, and the matrix's world of actors."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from piccolo.engine.base import Engine
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).parent.parent / "authz"))

from authz_harness import LiveServer, app_settings, started
from authz_world import World, build_world

from classroom.app import create_app

sys.path.insert(0, str(Path(__file__).parent))
from accounts_harness import BASE_URL, new_client


@pytest.fixture
def app_database(sqlite_database: Engine[Any]) -> Engine[Any]:
    """The database under the app: SQLite; a module overrides this with ``database`` to run on both engines."""
    return sqlite_database


@pytest.fixture
async def app(app_database: Engine[Any], tmp_path: Path) -> AsyncIterator[Starlette]:
    application = create_app(app_settings(tmp_path, app_database))
    async with started(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE_URL) as c:
        yield c


@pytest.fixture
async def world(app: Starlette) -> World:
    return await build_world(app.state.settings)


@pytest.fixture
async def live(app: Starlette) -> AsyncIterator[LiveServer]:
    server = LiveServer(app)
    yield server
    await server.close()


@pytest.fixture
def new_browser() -> Callable[[Starlette], httpx.AsyncClient]:
    """:func:`new_client` as a fixture: test modules must not import from ``conftest`` (with several test folders
    the name ``conftest`` is ambiguous once the whole suite is collected)."""
    return new_client
