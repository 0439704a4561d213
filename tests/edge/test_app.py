"""The app skeleton in-process: health, readiness with reasons, JSON errors, the generated OpenAPI schema."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from classroom.app import create_app
from classroom.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8000"
    ) as c:
        yield c


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_lists_components_with_reasons(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    body = r.json()
    assert set(body["components"]) == {"database", "sandbox"}
    assert body["components"]["database"] == {"status": "ok", "reason": "sqlite", "required": True, "detail": None}
    assert body["components"]["sandbox"]["reason"]  # running, passed or failed: always says which
    assert r.status_code == (200 if body["status"] == "ok" else 503)


async def test_readyz_is_503_naming_redis_when_it_is_down(settings: Settings) -> None:
    app: Starlette = create_app(dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0"))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://t"
    ) as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    redis = r.json()["components"]["redis"]
    assert redis["status"] == "error" and "Connect" in redis["reason"]


@pytest.mark.redis
async def test_readyz_reports_a_live_redis(settings: Settings, redis_url: str) -> None:
    app = create_app(dataclasses.replace(settings, redis_url=redis_url))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://t"
    ) as c:
        r = await c.get("/readyz")
    assert r.json()["components"]["redis"] == {"status": "ok", "reason": "pong", "required": True, "detail": None}


async def test_unknown_routes_and_methods_answer_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/thing")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await client.post("/healthz")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


async def test_openapi_describes_every_declared_endpoint(client: httpx.AsyncClient) -> None:
    from classroom.api import ENDPOINTS

    schema = (await client.get("/openapi.json")).json()
    assert schema["openapi"].startswith("3.")
    for ep in ENDPOINTS:
        assert ep.method.lower() in schema["paths"][ep.path.replace(":str", "")], ep.path
    assert "Readiness" in schema["components"]["schemas"]
    docs = await client.get("/api/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
