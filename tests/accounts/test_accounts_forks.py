"""Forking a demo (issue 12): the demo's files as they are now land in the student's room, the demo state they
came from is recorded (and rebuilds to exactly those files), taken names are never overwritten without a choice,
and the instructor's "fork for everyone" reaches every student and the demo's open pages."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authz_harness import app_settings, started
from authz_world import World
from piccolo.engine.base import Engine
from starlette.applications import Starlette

from classroom.app import create_app
from classroom.tables import AuditLog, Fork

pytestmark = pytest.mark.anyio


@pytest.fixture
def app_database(database: Engine[Any]) -> Engine[Any]:
    """These tests run on SQLite and on PostgreSQL."""
    return database


@pytest.fixture
async def app(app_database: Engine[Any], tmp_path: Path) -> AsyncIterator[Starlette]:
    application = create_app(app_settings(tmp_path, app_database))
    # The harness does not start the app's own database component: the room log must write through the test's
    # engine, or a flush (its own transaction on a second SQLite engine) waits on the other engine's lock.
    application.state.rooms.store._engine = app_database
    async with started(application):
        yield application


def as_(world: World, actor: str) -> dict[str, str]:
    return world.headers(actor)


async def test_a_student_forks_the_demo_state_and_it_is_recorded(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    rooms = app.state.rooms
    demo, mine = str(world.demo1.id), str(world.room_a.id)
    await rooms.set_files(demo, {"main.py": "print('demo v1')\n", "helpers.py": "X = 1\n"}, replace=True)
    url = f"/api/rooms/{demo}/fork"
    preview = (await client.get(url, headers=as_(world, "student_a"))).json()
    assert preview["target_room_id"] == mine and preview["clashes"] == []
    assert preview["files"] == ["helpers.py", "main.py"]

    done = await client.post(url, json={}, headers=as_(world, "student_a"))
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["target_room_id"] == mine and body["mode"] == "add"
    assert await rooms.files(mine) == {"main.py": "print('demo v1')\n", "helpers.py": "X = 1\n"}
    row = await Fork.objects().where(Fork.id == body["id"]).first().run()
    assert row is not None and str(row.source) == demo and str(row.target) == mine
    assert base64.b64decode(body["state_vector"]) == bytes(row.state_vector)
    # The instructor keeps typing; the recorded state still rebuilds to exactly what was copied.
    await rooms.set_files(demo, {"main.py": "print('demo v2')\n"})
    assert await rooms.rebuild(demo, state_vector=bytes(row.state_vector)) == {
        "main.py": "print('demo v1')\n",
        "helpers.py": "X = 1\n",
    }
    audit = await AuditLog.objects().where(AuditLog.action == "demo.fork").first().run()
    assert audit is not None and audit.target == demo
    detail = audit.detail if isinstance(audit.detail, dict) else json.loads(audit.detail)
    assert detail["into"] == mine and detail["state_vector"] == body["state_vector"]


async def test_taken_names_ask_then_rename_or_replace(app: Starlette, client: httpx.AsyncClient, world: World) -> None:
    rooms = app.state.rooms
    demo, mine = str(world.demo1.id), str(world.room_a.id)
    await rooms.set_files(demo, {"main.py": "print('demo')\n"}, replace=True)
    await rooms.set_files(mine, {"main.py": "print('my work')\n", "main_demo.py": "# taken too\n"}, replace=True)
    url = f"/api/rooms/{demo}/fork"
    assert (await client.get(url, headers=as_(world, "student_a"))).json()["clashes"] == ["main.py"]
    clash = await client.post(url, json={"mode": "add"}, headers=as_(world, "student_a"))
    assert clash.status_code == 409 and clash.json()["error"] == "fork_names_clash"
    assert (await rooms.files(mine))["main.py"] == "print('my work')\n"  # nothing lost

    renamed = await client.post(url, json={"mode": "rename"}, headers=as_(world, "student_a"))
    assert renamed.status_code == 201 and renamed.json()["files"] == {"main.py": "main_demo2.py"}
    assert await rooms.files(mine) == {
        "main.py": "print('my work')\n",
        "main_demo.py": "# taken too\n",
        "main_demo2.py": "print('demo')\n",
    }
    replaced = await client.post(url, json={"mode": "replace"}, headers=as_(world, "student_a"))
    assert replaced.status_code == 201
    assert await rooms.files(mine) == {"main.py": "print('demo')\n"}
    bad = await client.post(url, json={"mode": "merge"}, headers=as_(world, "student_a"))
    assert bad.status_code == 400


async def test_fork_for_everyone_reaches_every_student_and_the_demo_pages(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    rooms, feed = app.state.rooms, app.state.room_feed
    demo = str(world.demo1.id)
    await rooms.set_files(demo, {"main.py": "print('for all')\n"}, replace=True)
    await rooms.set_files(str(world.room_b.id), {"main.py": "print('b was here')\n"}, replace=True)
    page = feed.subscribe(demo)
    try:
        done = await client.post(f"/api/rooms/{demo}/fork-all", json={}, headers=as_(world, "instructor"))
        assert done.status_code == 200, done.text
        assert sorted(done.json()["rooms"]) == sorted([str(world.room_a.id), str(world.room_b.id)])
        event = await asyncio.wait_for(page.get(), timeout=5)
        assert event == {"type": "forked", "by": "Ines", "count": 2}
    finally:
        feed.unsubscribe(demo, page)
    assert await rooms.files(str(world.room_a.id)) == {"main.py": "print('for all')\n"}
    assert await rooms.files(str(world.room_b.id)) == {
        "main.py": "print('b was here')\n",
        "main_demo.py": "print('for all')\n",
    }
    assert await Fork.count().where(Fork.source == world.demo1.id).run() == 2


async def test_only_demo_rooms_fork(client: httpx.AsyncClient, world: World) -> None:
    answer = await client.post(f"/api/rooms/{world.pair_ab.id}/fork", json={}, headers=as_(world, "student_a"))
    assert answer.status_code == 400 and "demo" in answer.json()["detail"]
