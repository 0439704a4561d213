"""Removal across replicas through Redis: another replica's sockets close within a second."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis.asyncio as aioredis

from classroom import presence, presence_fanout
from classroom.presence_fanout import PresenceFanout

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


async def test_a_removal_reaches_the_other_replica(redis_url: str) -> None:
    client_a, client_b = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    replica_a, replica_b = PresenceFanout(client_a), PresenceFanout(client_b)
    await replica_b.start()  # B is the replica holding the socket; A is where the instructor clicked
    closed = asyncio.Event()

    async def close() -> None:
        closed.set()

    user, klass = uuid.uuid4(), uuid.uuid4()
    presence.register(user, close, class_id=klass)
    try:
        started = time.monotonic()
        await replica_a.publish(user, klass)
        await asyncio.wait_for(closed.wait(), timeout=1)
        assert time.monotonic() - started < 1.0
        assert presence.count(user) == 0
        assert (await replica_b.check()).ok
    finally:
        await replica_b.stop()
        await client_a.aclose()
        await client_b.aclose()


async def test_a_replica_ignores_its_own_message_and_remove_closes_locally(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    replica = PresenceFanout(client)
    await replica.start()
    calls: list[str] = []

    async def close() -> None:
        calls.append("closed")

    user = uuid.uuid4()
    presence.register(user, close)
    try:
        assert await presence_fanout.remove(user) == 1  # local close, then the publish it will ignore
        await asyncio.sleep(0.3)
        assert calls == ["closed"]
        await replica._handle(b"not json")  # malformed messages are ignored, not fatal
    finally:
        await replica.stop()
        await client.aclose()
