"""``GET /healthz`` (the process is alive) and ``GET /readyz`` (every component, with a reason)."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from classroom.api import endpoint
from classroom.components import Component, Health


class Alive(BaseModel):
    status: str


class ComponentHealth(BaseModel):
    status: str  # "ok" or "error"
    reason: str
    required: bool
    detail: dict[str, object] | None = None


class Readiness(BaseModel):
    status: str
    components: dict[str, ComponentHealth]


@endpoint("GET", "/healthz", summary="The process is alive.", tag="health", response=Alive, auth="none")
async def healthz(request: Request) -> Alive:
    return Alive(status="ok")


async def _check(component: Component) -> Health:
    try:
        return await asyncio.wait_for(component.check(), timeout=5)
    except TimeoutError:
        return Health(False, "health check timed out after 5 s")


@endpoint(
    "GET",
    "/readyz",
    summary="Every component's health; 503 when a required one is down.",
    tag="health",
    response=Readiness,
    errors=(503,),
    auth="none",
)
async def readyz(request: Request) -> Response:
    components: list[Component] = request.app.state.components
    results = await asyncio.gather(*(_check(c) for c in components))
    report = {
        c.name: ComponentHealth(status="ok" if h.ok else "error", reason=h.reason, required=c.required, detail=h.detail)
        for c, h in zip(components, results, strict=True)
    }
    ready = all(h.ok for c, h in zip(components, results, strict=True) if c.required)
    body = Readiness(status="ok" if ready else "error", components=report)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


def routes() -> list[BaseRoute]:
    return [healthz, readyz]
