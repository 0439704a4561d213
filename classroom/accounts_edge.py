"""How issue 3 (people, classes, rooms, lessons, auth) plugs into the app: its routes and its app state.

:func:`routes` lists the HTTP routes; :func:`install` sets ``app.state.rate_limiter`` and
``app.state.revocations`` (Redis when configured), ``app.state.oidc`` and ``app.state.default_course``, and adds
the start-up course import right after the database component and, with Redis, the removal fan-out
(:mod:`classroom.presence_fanout`) right after Redis.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from classroom import oidc, presence_fanout, ratelimit, revocations, routes_classes, routes_lessons, routes_session
from classroom.settings import Settings


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        *routes_session.routes(),
        *routes_classes.routes(),
        *routes_lessons.routes(),
        *oidc.routes(),
    ]


def install(app: Starlette, settings: Settings, parts: list[Any]) -> None:
    redis = next((p for p in parts if getattr(p, "name", "") == "redis"), None)
    app.state.rate_limiter = ratelimit.build(settings, None if redis is None else redis.client)
    app.state.revocations = revocations.build(None if redis is None else redis.client)
    app.state.default_course = "sample"
    app.state.oidc = oidc.build_client(settings)
    database_at = next((i for i, p in enumerate(parts) if getattr(p, "name", "") == "database"), 0)
    parts.insert(database_at + 1, routes_lessons.CourseImport(settings, app.state))
    if redis is not None:
        parts.insert(parts.index(redis) + 1, presence_fanout.PresenceFanout(redis.client))
