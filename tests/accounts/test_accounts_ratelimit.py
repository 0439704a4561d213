"""Rate limits: the in-memory and the Redis limiter under the same contract, and 429 + Retry-After at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from authz_harness import app_settings, started
from authz_world import build_world
from piccolo.engine.base import Engine

from classroom.auth.ratelimit import Limit, MemoryRateLimiter, RateLimiter, RedisRateLimiter
from classroom.errors import RateLimited

LIMIT = Limit("test", 3, 60, "tests")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def exhaust(limiter: RateLimiter, key: str) -> RateLimited:
    for _ in range(LIMIT.limit):
        await limiter.hit(LIMIT, key)
    with pytest.raises(RateLimited) as caught:
        await limiter.hit(LIMIT, key)
    return caught.value


@pytest.mark.anyio
async def test_memory_limiter() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    over = await exhaust(limiter, "k")
    assert over.status == 429 and 1 <= over.retry_after <= 60 and "at most 3 per 60 s" in over.detail
    await limiter.hit(LIMIT, "other key")  # keys are independent
    clock.now += 61
    await limiter.hit(LIMIT, "k")  # a new window
    await limiter.reset(LIMIT, "k")
    await exhaust(limiter, "k")


@pytest.mark.anyio
@pytest.mark.redis
async def test_redis_limiter(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        limiter = RedisRateLimiter(client, prefix="test:rl:")
        over = await exhaust(limiter, "k")
        assert 1 <= over.retry_after <= 60
        # A second limiter on the same Redis (another replica) sees the same count.
        with pytest.raises(RateLimited):
            await RedisRateLimiter(client, prefix="test:rl:").hit(LIMIT, "k")
        await limiter.hit(LIMIT, "other key")
        await limiter.reset(LIMIT, "k")
        await exhaust(limiter, "k")
        assert 0 < await client.ttl("test:rl:test:k") <= 60
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_sign_in_attempts_are_limited_per_account_and_address(client: httpx.AsyncClient) -> None:
    for _ in range(10):
        response = await client.post("/api/login", json={"username": "victim", "password": "wrong-password"})
        assert response.status_code == 401
    response = await client.post("/api/login", json={"username": "victim", "password": "wrong-password"})
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 300
    other = await client.post("/api/login", json={"username": "someone-else", "password": "wrong-password"})
    assert other.status_code == 401  # the limit is per account (and address), not global


@pytest.mark.anyio
async def test_joins_are_limited_per_address(tmp_path: Path, sqlite_database: Engine[Any]) -> None:
    from classroom.app import create_app

    app = create_app(app_settings(tmp_path, sqlite_database, joins_per_ten_minutes="5"))
    async with (
        started(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8000") as client,
    ):
        world = await build_world(app.state.settings)
        for i in range(5):
            response = await client.post("/api/join", json={"join_code": world.class1.join_code, "name": f"S{i}"})
            assert response.status_code == 200
        response = await client.post("/api/join", json={"join_code": world.class1.join_code, "name": "Too many"})
        assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
        assert "at most 5 per 600 s" in response.json()["detail"]
        # Past the limit a body is not even parsed: a deeply nested one costs the server nothing.
        nested = b"[" * 100_000 + b"]" * 100_000
        response = await client.post("/api/join", content=nested, headers={"content-type": "application/json"})
        assert response.status_code == 429


@pytest.mark.anyio
@pytest.mark.redis
async def test_the_app_uses_redis_when_configured(tmp_path: Path, sqlite_database: Engine[Any], redis_url: str) -> None:
    from classroom.app import create_app

    app = create_app(app_settings(tmp_path, sqlite_database, redis_url=redis_url))
    assert isinstance(app.state.rate_limiter, RedisRateLimiter)
    assert isinstance(create_app(app_settings(tmp_path, sqlite_database)).state.rate_limiter, MemoryRateLimiter)
