"""The app factory: builds the Starlette app from settings; its lifespan owns every background resource.

Start order: database → Redis (if configured) → Ray → sandbox probe → services that use them. Stop runs in
reverse, all of it within ``CLASSROOM_SHUTDOWN_SECONDS``, so a hung resource cannot hold the process past the
bound (uvicorn turns SIGTERM/SIGINT into the lifespan's shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from classroom import accounts_edge, components, health, openapi, pages, rooms_live, runs, sessions
from classroom.api import merge_methods
from classroom.components import Component
from classroom.http import EXCEPTION_HANDLERS
from classroom.settings import Settings, load_settings

log = logging.getLogger(__name__)


def build_components(settings: Settings) -> list[Component]:
    found: list[Component] = [components.Database(settings)]
    if settings.redis_url:
        found.append(components.Redis(settings.redis_url))
    if settings.start_ray:
        found.append(components.Ray(settings))
    found.append(components.Sandbox(settings))
    return found


async def _start_all(parts: list[Component], started: list[Component]) -> None:
    """Start ``parts`` in order, appending each to ``started`` so a failure still stops what came up."""
    for part in parts:
        log.info("starting %s", part.name)
        await part.start()
        started.append(part)


async def _stop_all(parts: list[Component], budget: float) -> None:
    """Stop in reverse start order within ``budget`` seconds in all: each stop may use what the earlier ones
    left, so quick stops leave time for slow ones (flushing rooms, shutting Ray down)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    for part in reversed(parts):
        left = max(0.1, deadline - loop.time())
        try:
            await asyncio.wait_for(part.stop(), timeout=left)
        except TimeoutError:
            log.error(
                "stopping %s took longer than the %.1f s left of the shutdown bound; abandoning it", part.name, left
            )
        except Exception:
            log.exception("stopping %s failed", part.name)


def create_app(settings: Settings | None = None) -> Starlette:
    """A ready-to-serve ASGI app. Nothing starts until the lifespan runs."""
    settings = settings or load_settings()
    parts = build_components(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        started: list[Component] = []
        try:
            await _start_all(parts, started)
            # Everything alive now lives as long as the process: keep it out of the collector's full passes,
            # which otherwise put tens of milliseconds into the relay's p99 (measured in load/bench_collab.py).
            gc.freeze()
            yield
        finally:
            await _stop_all(started, float(settings.shutdown_seconds))

    database = parts[0]
    assert isinstance(database, components.Database)
    rooms = rooms_live.Rooms(settings, database.engine)
    parts.append(rooms)
    routes: list[BaseRoute] = [
        *health.routes(),
        *openapi.routes(),
        *accounts_edge.routes(settings),  # sign-in, classes, rooms, lessons, tokens
        *rooms_live.routes(rooms),  # WS /collab/{room_id}
        *runs.routes(),  # /api/runs and its stream
        *sessions.routes(),  # the control plane (hands, modes, follow-me) and analytics
        *pages.routes(),  # the browser app's pages and built assets (last: /assets is a mount)
    ]
    app = Starlette(routes=merge_methods(routes), lifespan=lifespan, exception_handlers=dict(EXCEPTION_HANDLERS))
    app.state.settings = settings
    app.state.components = parts
    app.state.database = database
    app.state.rooms = rooms.manager
    # Each install adds its components after the ones it needs (they start in list order).
    accounts_edge.install(app, settings, parts)  # rate limiter, OIDC client, course import after the database
    runs.install(app, settings, parts)  # after Ray: owns the dispatcher and the slot actors
    sessions.install(app, settings, parts)  # after Ray: session shards and the analytics actor
    return app
