"""Fixtures of the console tests: the real app on the test database (minus Ray and the sandbox probe), the
matrix's world of actors and a live loopback server for the class channel's WebSockets."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from piccolo.engine.base import Engine
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).parent.parent / "authz"))
sys.path.insert(0, str(Path(__file__).parent))

from authz_harness import LiveServer, app_settings
from authz_world import World, build_world
from console_harness import started

from classroom.app import create_app


@pytest.fixture
async def app(sqlite_database: Engine[Any], tmp_path: Path) -> AsyncIterator[Starlette]:
    application = create_app(app_settings(tmp_path, sqlite_database))
    async with started(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture
async def world(app: Starlette) -> World:
    return await build_world(app.state.settings)


@pytest.fixture
async def live(app: Starlette) -> AsyncIterator[LiveServer]:
    server = LiveServer(app)
    yield server
    await server.close()
