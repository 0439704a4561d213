"""The app skeleton in-process: health, readiness with reasons, JSON errors, the generated OpenAPI schema."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from classroom.app import create_app
from classroom.settings import Settings

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for_port(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


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
    assert {"database", "sandbox", "rooms"} <= set(body["components"])
    assert body["components"]["database"] == {"status": "ok", "reason": "sqlite", "required": True, "detail": None}
    assert body["components"]["sandbox"]["reason"]  # running, passed or failed: always says which
    assert r.status_code == (200 if body["status"] == "ok" else 503)


async def test_start_refuses_an_unreachable_redis(settings: Settings) -> None:
    app: Starlette = create_app(dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0"))
    with pytest.raises(Exception, match=r"127\.0\.0\.1:1\b"):
        async with app.router.lifespan_context(app):
            pass


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, so the test may kill it."""
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL)
    yield port, server
    server.kill()
    server.wait()


@pytest.mark.redis
async def test_readyz_is_503_naming_redis_when_it_goes_down(
    settings: Settings, private_redis: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, server = private_redis
    await wait_for_port(port)
    app = create_app(dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{port}/0"))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://t"
    ) as c:
        assert (await c.get("/readyz")).json()["components"]["redis"]["status"] == "ok"
        server.kill()
        await asyncio.to_thread(server.wait)
        r = await c.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "error"
        redis = r.json()["components"]["redis"]
        assert redis["status"] == "error" and "Error" in redis["reason"], redis


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


async def test_a_stop_that_hangs_cannot_starve_the_ones_after_it() -> None:
    """Shutdown stops parts in reverse start order within one bound; a part that hangs (slots still starting
    on a loaded host) is cut off at half of what is left, so the rooms' flush after it still completes."""
    from classroom.app import _stop_all

    finished: list[str] = []

    class Part:
        required = False

        def __init__(self, name: str, seconds: float) -> None:
            self.name, self.seconds = name, seconds

        async def start(self) -> None: ...

        async def stop(self) -> None:
            await asyncio.sleep(self.seconds)
            finished.append(self.name)

        async def check(self) -> object: ...

    rooms, runs = Part("rooms", 0.5), Part("runs", 3600)
    await _stop_all([rooms, runs], budget=2.0)  # type: ignore[list-item]  # stopped last-started first
    assert finished == ["rooms"]
