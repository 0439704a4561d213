"""Two web processes serving the same room converge through the local Redis (pub/sub replica bus)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from collab_harness import NodeClient, PyClient, eventually, grants_for, running_server

from collab import MemoryStore, RedisBus, RoomManager
from collab.room import REMOTE as REMOTE_OWNER

pytestmark = [pytest.mark.anyio, pytest.mark.redis]
ROOM = "shared"


@pytest.mark.node
async def test_two_replicas_converge_through_redis(redis_url: str, node_modules: object) -> None:
    prefix = _prefix()
    store = MemoryStore()  # one database behind both replicas, as in production
    left = RoomManager(store, bus=RedisBus(redis_url, prefix=prefix))
    right = RoomManager(store, bus=RedisBus(redis_url, prefix=prefix))
    grants = grants_for([ROOM])
    async with running_server(left, grants) as left_url, running_server(right, grants) as right_url:
        a = await NodeClient.start(left_url, ROOM, "writer")
        b = await NodeClient.start(right_url, ROOM, "writer2")
        try:
            await asyncio.gather(a.call("wait_synced"), b.call("wait_synced"))
            await asyncio.gather(
                a.call("random", count=300, seed=3, delay=2), b.call("random", count=300, seed=4, delay=2)
            )

            async def same() -> bool:
                fa, fb = await a.files(), await b.files()
                return fa == fb == await left.files(ROOM) == await right.files(ROOM)

            await eventually(same)
            await a.call("awareness", state={"user": {"name": "Left"}})

            async def b_sees_left() -> bool:
                return any(p.get("user", {}).get("name") == "Left" for p in (await b.call("peers"))["peers"])

            await eventually(b_sees_left)
        finally:
            await asyncio.gather(a.close(), b.close())


async def test_a_replica_that_loads_late_catches_up_before_the_log_is_flushed(redis_url: str) -> None:
    prefix = _prefix()
    # Separate stores: only the bus can carry the update.
    left = RoomManager(MemoryStore(), bus=RedisBus(redis_url, prefix=prefix))
    right = RoomManager(MemoryStore(), bus=RedisBus(redis_url, prefix=prefix))
    grants = grants_for([ROOM])
    async with running_server(left, grants) as left_url, running_server(right, grants) as right_url:
        first = await PyClient.connect(left_url, ROOM)
        await asyncio.wait_for(first.synced.wait(), 5)
        first.text().insert(0, "typed on the left\n")
        await eventually(lambda: _text(left, "typed on the left\n"))
        late = await PyClient.connect(right_url, ROOM)
        await eventually(lambda: late.files().get("main.py") == "typed on the left\n")
        late.text().insert(0, "# right\n")
        await eventually(lambda: first.files().get("main.py") == "# right\ntyped on the left\n")
        await asyncio.gather(first.close(), late.close())


def _prefix() -> str:
    """Pub/sub channels ignore Redis database numbers: a prefix of its own keeps concurrent runs apart."""
    return f"test-{uuid.uuid4().hex}:"


async def _text(manager: RoomManager, text: str) -> bool:
    return (await manager.files(ROOM)).get("main.py") == text


async def test_a_replica_that_loads_late_shows_the_cursors_of_clients_on_the_other(redis_url: str) -> None:
    """A cursor that does not move is never sent again (this client does not even renew it): the replica that
    loads the room later must ask the others for their clients' awareness."""
    from collab import protocol

    prefix = _prefix()
    left = RoomManager(MemoryStore(), bus=RedisBus(redis_url, prefix=prefix))
    right = RoomManager(MemoryStore(), bus=RedisBus(redis_url, prefix=prefix))
    grants = grants_for([ROOM])
    async with running_server(left, grants) as left_url, running_server(right, grants) as right_url:
        still = await PyClient.connect(left_url, ROOM)
        await asyncio.wait_for(still.synced.wait(), 5)
        cursor = (4242, 1, '{"user":{"name":"Still"},"cursor":{"line":3}}')
        await still.ws.send(protocol.awareness_message(protocol.encode_awareness([cursor])))
        await eventually(lambda: any(e[0] == 4242 for e in left._rooms[ROOM].awareness.snapshot()))
        late = await PyClient.connect(right_url, ROOM)
        await eventually(lambda: cursor in late.awareness)
        # Answered once, by the replica whose client it is: the late replica does not echo it back as its own.
        assert right._rooms[ROOM].awareness.snapshot(excluding=REMOTE_OWNER) == []
        await asyncio.gather(still.close(), late.close())
