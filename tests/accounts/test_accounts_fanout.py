"""Removal across replicas through Redis: another replica's sockets close (how fast is load/'s business)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from classroom.presence import fanout
from classroom.presence import service as presence
from classroom.presence.fanout import PresenceFanout

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
        await replica_a.publish(user, klass)
        await asyncio.wait_for(closed.wait(), timeout=30)  # generous: the event, not its speed, is tested
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
        assert await fanout.remove(user) == 1  # local close, then the publish it will ignore
        await asyncio.sleep(0.3)
        assert calls == ["closed"]
        await replica._handle(b"not json")  # malformed messages are ignored, not fatal
    finally:
        await replica.stop()
        await client.aclose()
