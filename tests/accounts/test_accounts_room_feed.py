"""The room feed (issue 12): a room's pages hear of its runs the moment they start and finish — on this replica
directly, on the others through Redis — over ``WS /api/rooms/{id}/live`` (a snapshot, then events)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import redis.asyncio as aioredis
import websockets
from authz_harness import LiveServer
from authz_world import World
from starlette.applications import Starlette

from classroom.presence import service as presence
from classroom.runs.feed import RoomFeed

pytestmark = pytest.mark.anyio


async def recv(ws: websockets.ClientConnection) -> dict[str, object]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout=5)))


@pytest.mark.redis
async def test_an_event_reaches_the_pages_of_the_room_on_another_replica_once(redis_url: str) -> None:
    channel = f"test:{uuid.uuid4().hex}:feed"  # our own channel: other runs share this Redis
    client_a, client_b = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    a, b = RoomFeed(client_a, channel=channel), RoomFeed(client_b, channel=channel)
    await a.start()
    await b.start()
    try:
        here, there, elsewhere = a.subscribe("room-1"), b.subscribe("room-1"), b.subscribe("room-2")
        event = {"type": "run", "run": {"id": "r1", "status": "finished"}}
        a.publish("room-1", event)
        assert await asyncio.wait_for(there.get(), timeout=2) == event
        assert await asyncio.wait_for(here.get(), timeout=2) == event
        await asyncio.sleep(0.3)
        assert here.empty() and elsewhere.empty()  # A ignores its own echo; room 2 hears nothing
        b._handle(b"not json")  # a malformed message is dropped, the feed keeps going
        b.publish("room-1", {"type": "forked", "by": "Ines", "count": 2})
        assert (await asyncio.wait_for(here.get(), timeout=2))["type"] == "forked"
        assert (await a.check()).ok and (await b.check()).ok
    finally:
        await a.stop()
        await b.stop()
        await client_a.aclose()
        await client_b.aclose()


async def test_a_slow_page_is_cut_off_instead_of_growing_memory() -> None:
    feed = RoomFeed()
    queue = feed.subscribe("r")
    for i in range(300):
        feed.publish("r", {"type": "run", "run": {"id": str(i)}})
    assert feed.subscribers("r") == 0
    items = [queue.get_nowait() for _ in range(queue.qsize())]
    assert items[-1] is None and len(items) <= 257


async def test_the_live_socket_sends_a_snapshot_then_runs_as_they_start_and_finish(
    app: Starlette, world: World, live: LiveServer
) -> None:
    base = await live.url()
    token = world.ws_token("student_b")
    async with websockets.connect(f"{base}/api/rooms/{world.pair_ab.id}/live?token={token}") as ws:
        snapshot = await recv(ws)
        assert snapshot == {"type": "snapshot", "runs": []}
        service = app.state.runs
        run_id = str(uuid.uuid4())
        started = {
            "id": run_id,
            "user_id": str(world.users["student_a"].id),
            "display_name": "Ann",
            "status": "running",
        }
        service.announce(str(world.pair_ab.id), started)
        assert (await recv(ws))["run"] == started
        finished = {"id": run_id, "user_id": str(world.users["student_a"].id), "status": "finished", "verdict": "ok"}
        service.announce(str(world.pair_ab.id), finished)
        event = await recv(ws)
        assert event["run"] == {**finished, "display_name": "Ann"}  # the name is filled in for the page
        service.announce(str(world.room_a.id), started)  # another room's run is not this room's business
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), timeout=0.3)
        await ws.send(json.dumps({"type": "ping"}))
        await ws.send("hello")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_the_snapshot_names_who_ran_and_removal_closes_the_feed(
    app: Starlette, world: World, live: LiveServer
) -> None:
    base = await live.url()
    token = world.ws_token("student_a")
    async with websockets.connect(f"{base}/api/rooms/{world.room_a.id}/live?token={token}") as ws:
        snapshot = await recv(ws)
        runs = snapshot["runs"]
        assert isinstance(runs, list) and [(r["id"], r["display_name"]) for r in runs] == [(str(world.run_a.id), "Ann")]
        await presence.close_user(world.users["student_a"].id, class_id=world.class1.id)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
