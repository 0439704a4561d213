"""Signed-out sessions are remembered until the cookie would expire: in memory and in Redis."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from classroom.auth.revocations import MemoryRevocations, RedisRevocations, Revocations

pytestmark = pytest.mark.anyio


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


async def contract(revocations: Revocations) -> None:
    assert not await revocations.is_revoked("s1")
    await revocations.revoke("s1", 60)
    assert await revocations.is_revoked("s1") and not await revocations.is_revoked("s2")


async def test_memory() -> None:
    clock = Clock()
    revocations = MemoryRevocations(clock)
    await contract(revocations)
    clock.now += 61
    assert not await revocations.is_revoked("s1")  # past the cookie's own expiry: forgotten


@pytest.mark.redis
async def test_redis(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await contract(RedisRevocations(client, prefix="test:revoked:"))
        assert 0 < await client.ttl("test:revoked:s1") <= 60
        assert await RedisRevocations(client, prefix="test:revoked:").is_revoked("s1")  # another replica
    finally:
        await client.aclose()
