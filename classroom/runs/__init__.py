"""Runs at the web edge: the HTTP/WS API (:mod:`classroom.runs.routes`) and the service that owns the dispatcher
(:mod:`classroom.runs.service`), installed into the app by :func:`install`."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from classroom.runs.routes import routes
from classroom.runs.service import RunService
from classroom.settings import Settings


def install(app: Starlette, settings: Settings, parts: list[Any]) -> RunService:
    """Add the run service as a component (after Ray) and expose it as ``app.state.runs``."""
    service = RunService(settings)
    parts.append(service)
    app.state.runs = service
    return service


__all__ = ["RunService", "install", "routes"]
