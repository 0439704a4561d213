"""The class channel over two web replicas sharing PostgreSQL and Redis: an event raised on one replica reaches a
page on the other (hands, rooms, tiles of a document edited on the other replica, presence), and a student on
either never receives another room's code or another student's hand message."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authz_harness import LiveServer, app_settings
from authz_world import World, build_world
from console_harness import connect, started
from piccolo.engine.base import Engine
from starlette.applications import Starlette

from classroom.app import create_app

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def replicas(
    _postgres_engine: Engine[Any], redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Starlette, Starlette, World]]:
    from classroom import db
    from classroom.tables import TABLES

    db.bind(_postgres_engine)
    await _postgres_engine.run_ddl("TRUNCATE " + ", ".join(t._meta.tablename for t in TABLES) + " CASCADE")
    one = create_app(app_settings(tmp_path, _postgres_engine, redis_url=redis_url))
    two = create_app(app_settings(tmp_path, _postgres_engine, redis_url=redis_url))
    async with started(one), started(two):
        yield one, two, await build_world(one.state.settings)


async def test_events_cross_replicas_and_students_see_only_their_own(
    replicas: tuple[Starlette, Starlette, World],
) -> None:
    one, two, world = replicas
    live_one, live_two = LiveServer(one), LiveServer(two)
    try:
        # The instructor's grid and Ben's class page are on replica one; Ann works on replica two.
        grid = await connect(live_one, world, "instructor", world.class1.id, "&grid=1")
        ben = await connect(live_one, world, "student_b", world.class1.id)
        ann = await connect(live_two, world, "student_a", world.class1.id)
        await grid.wait_for(lambda e: e["type"] == "presence" and "Ann" in {p["display_name"] for p in e["online"]})

        # Ann's code, typed into her room's document on replica two, reaches the grid on replica one as a tile.
        secret = "password = 'ann-only-4711'"
        await two.state.rooms.set_files(str(world.room_a.id), {"main.py": f"{secret}\nprint(password)\n"})
        tile = await grid.wait_for(lambda e: e["type"] == "tile" and e["room_id"] == str(world.room_a.id), 10)
        assert secret in json.dumps(tile)

        # Ann raises her hand through replica two; the instructor on replica one gets it with its message.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(two), base_url="http://127.0.0.1:8000") as http:
            raised = await http.post(f"/api/classes/{world.class1.id}/hand", headers=world.headers("student_a"),
                                     json={"note": "ann's private question", "room_id": str(world.room_a.id)})
            assert raised.status_code == 201, raised.text
        hand = await grid.wait_for(lambda e: e["type"] == "hand", 10)
        assert hand["hand"]["note"] == "ann's private question"
        assert (await ann.wait_for(lambda e: e["type"] == "hand"))["hand"]["id"] == raised.json()["id"]

        # A room made through replica one appears for its student on replica two.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(one), base_url="http://127.0.0.1:8000") as http:
            made = await http.post(f"/api/classes/{world.class1.id}/rooms", headers=world.headers("instructor"),
                                   json={"name": "Pair 9", "kind": "pair", "members": [
                                       str(world.users["student_a"].id), str(world.users["student_b"].id)]})
            assert made.status_code == 201, made.text
        await ann.wait_for(lambda e: e["type"] == "room" and e["room"]["id"] == made.json()["id"], 10)

        # Ben saw none of Ann's code nor her hand's message: only what a student may see.
        seen = await ben.drain()
        text = json.dumps(ben.seen)
        assert "ann-only-4711" not in text and "ann's private question" not in text
        assert not [e for e in seen if e["type"] in ("tile", "hand", "roster", "stuck")]
        assert any(e["type"] == "room" and e["room"]["id"] == made.json()["id"] for e in seen)
        for channel in (grid, ben, ann):
            await channel.close()
    finally:
        await live_one.close()
        await live_two.close()
