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

from classroom import components, dashboard, grading, health, metrics, openapi, pages
from classroom.accounts import oidc
from classroom.accounts import routes as accounts
from classroom.api import merge_methods
from classroom.auth import service as auth
from classroom.classes import routes as classes
from classroom.components import Component
from classroom.console import routes as console
from classroom.console import service as console_service
from classroom.courses import routes as courses
from classroom.courses import service as course_import
from classroom.demos import routes as demos
from classroom.http import EXCEPTION_HANDLERS
from classroom.judge0 import callbacks as judge0_callbacks
from classroom.judge0 import routes as judge0
from classroom.piston import routes as piston
from classroom.presence import fanout
from classroom.rooms import routes as rooms
from classroom.rooms.service import Rooms
from classroom.runs import live as run_live
from classroom.runs import routes as runs
from classroom.runs import service as run_service
from classroom.sessions import routes as sessions
from classroom.sessions import service as control_plane
from classroom.settings import Settings, load_settings

log = logging.getLogger(__name__)


def build_components(settings: Settings) -> list[Component]:
    found: list[Component] = [components.Database(settings)]
    if settings.redis_url:
        found.append(components.Redis(settings.redis_url))
    if settings.start_ray:
        found.append(components.Ray(settings))
    if settings.execution == "local":
        # With CLASSROOM_EXECUTION=cluster the sandboxes live on worker nodes (each self-tests before it offers
        # slots): this edge needs no sandbox of its own, and the Ray component's readiness counts the cluster's.
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
    left, so quick stops leave time for slow ones (flushing rooms, shutting Ray down) — but at most half of it
    while others wait, so one that hangs (slots still starting on a loaded host) cannot starve the rooms' flush.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    for index, part in enumerate(reversed(parts)):
        left = max(0.1, deadline - loop.time())
        if index < len(parts) - 1:
            left = max(0.1, left / 2)
        log.info("stopping %s", part.name)
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
    live_rooms = Rooms(settings, database.engine)
    parts.append(live_rooms)
    # The route table, feature by feature. Its order is also the order of /openapi.json (see openapi.build_schema).
    routes: list[BaseRoute] = [
        *oidc.routes(),  # sign-in with an identity provider
        *classes.routes(),  # classes, rosters, rooms
        *courses.routes(),  # lessons
        *accounts.routes(),  # join, sign-in, tokens
        *health.routes(),
        *metrics.routes(),  # Prometheus text format: admin token, or loopback only
        *openapi.routes(),
        *rooms.routes(live_rooms),  # WS /collab/{room_id}
        *demos.routes(),  # fork a demo into your room, or for everyone
        *runs.routes(),  # /api/runs and its stream
        *run_live.routes(),  # WS /api/rooms/{room_id}/live: the room's runs, pushed
        *grading.routes(),  # checks, the gradebook, my grades
        *dashboard.routes(),  # the instructor's live dashboard
        *sessions.routes(),  # the control plane (hands, modes, follow-me) and analytics
        *console.routes(),  # WS /api/classes/{id}/events: the class channel (snapshot, then events)
        *judge0.routes(),  # /judge0: the Judge0 CE API over the run service
        *piston.routes(),  # /piston: the Piston v2 API over the run service
        # the browser app's pages and built assets (last: /assets is a mount)
        *pages.routes(source_maps=settings.source_maps),
    ]
    app = Starlette(routes=merge_methods(routes), lifespan=lifespan, exception_handlers=dict(EXCEPTION_HANDLERS))
    app.state.settings = settings
    app.state.components = parts
    app.state.database = database
    app.state.rooms = live_rooms.manager
    app.state.openapi = openapi.build_schema(routes)
    app.state.metrics = metrics.Metrics()

    async def room_gauges() -> dict[str, float]:
        found = live_rooms.manager.stats()
        return {**found, "collab_messages": found.pop("messages")}

    app.state.metrics.add_source(room_gauges)
    # Each install adds its components after the ones it needs (they start in list order).
    redis = next((p for p in parts if isinstance(p, components.Redis)), None)
    auth.install(app, settings, None if redis is None else redis.client)  # rate limiter, revocations
    oidc.install(app, settings)
    course_import.install(app, settings, parts)  # the course import, right after the database
    fanout.install(parts)  # with Redis: a removal closes the student's sockets on every replica
    runs_at = run_service.install(app, settings, parts)  # after Ray: owns the dispatcher and the slot actors
    judge0_callbacks.install(app, settings, parts)  # after runs: signed callbacks hook its finished runs
    control_plane.install(app, settings, parts)  # after Ray: session shards and the analytics actor
    # The class event bus before the rooms, the console right after them (it reads their documents).
    events = console_service.install(app, parts, control_plane.stuck_of(app), control_plane.warm_of(app))
    runs_at.events = events  # run outcomes reach the class's pages
    return app
