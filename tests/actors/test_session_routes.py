"""The control-plane and analytics routes in-process (no Ray: the app hosts one shard): flows and validation.

Who may call what is the authorization matrix's job (``tests/authz/rows_sessions.py``); these tests check what
the routes answer: bodies, status codes, precise 4xx details, and that the state flows through the shard.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from piccolo.engine.base import Engine
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).parent.parent / "authz"))

from authz_harness import app_settings, started
from authz_world import World, build_world

from classroom.app import create_app
from classroom.tables import Run

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app(sqlite_database: Engine[Any], tmp_path: Path) -> AsyncIterator[Starlette]:
    application = create_app(app_settings(tmp_path, sqlite_database))
    async with started(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture
async def world(app: Starlette) -> World:
    return await build_world(app.state.settings)


async def test_hand_queue_flow(client: httpx.AsyncClient, world: World) -> None:
    base = f"/api/classes/{world.class1.id}"
    a, b, teacher = world.headers("student_a"), world.headers("student_b"), world.headers("instructor")
    raised = await client.post(f"{base}/hand", json={"room_id": str(world.pair_ab.id), "note": "loop?"}, headers=a)
    assert raised.status_code == 201 and raised.json()["room_id"] == str(world.pair_ab.id)
    assert (await client.post(f"{base}/hand", json={}, headers=a)).status_code == 200  # already up: the same hand
    await client.post(f"{base}/hand", json={}, headers=b)
    hands = (await client.get(f"{base}/hands", headers=teacher)).json()["hands"]
    assert [h["user_id"] for h in hands] == [str(world.users["student_a"].id), str(world.users["student_b"].id)]
    session = (await client.get(f"{base}/session", headers=b)).json()
    assert session["hand_queue"] == 2 and session["my_hand"]["id"] == hands[1]["id"]
    resolved = await client.post(f"{base}/hands/{hands[0]['id']}/resolve", headers=teacher)
    assert resolved.status_code == 200 and resolved.json()["resolved_by"] == str(world.users["instructor"].id)
    again = await client.post(f"{base}/hands/{hands[0]['id']}/resolve", headers=teacher)
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert (await client.delete(f"{base}/hand", headers=b)).status_code == 200
    gone = await client.delete(f"{base}/hand", headers=b)
    assert gone.status_code == 404 and gone.json()["detail"] == "your hand is not raised"
    assert (await client.get(f"{base}/session", headers=b)).json()["hand_queue"] == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"note": "x" * 501}, "note"),
        ({"room_id": "nope"}, "room_id"),
        ({"color": "red"}, "color"),
        ({"note": 5}, "note"),
    ],
)
async def test_raise_hand_validation(client: httpx.AsyncClient, world: World, body: Any, detail: str) -> None:
    response = await client.post(f"/api/classes/{world.class1.id}/hand", json=body, headers=world.headers("student_a"))
    assert response.status_code == 400 and detail in response.json()["detail"]


async def test_modes_and_follow(client: httpx.AsyncClient, world: World) -> None:
    teacher, a = world.headers("instructor"), world.headers("student_a")
    base = f"/api/classes/{world.class1.id}"
    bad = await client.put(f"/api/rooms/{world.pair_ab.id}/mode", json={"mode": "broadcast"}, headers=teacher)
    assert bad.status_code == 400 and "mode" in bad.json()["detail"]
    not_demo = await client.post(f"{base}/follow", json={"room_id": str(world.pair_ab.id)}, headers=teacher)
    assert not_demo.status_code == 409 and "demo" in not_demo.json()["detail"]
    missing = await client.post(f"{base}/follow", json={}, headers=teacher)
    assert missing.status_code == 400 and "room_id" in missing.json()["detail"]
    foreign = await client.post(f"{base}/follow", json={"room_id": str(world.room_other.id)}, headers=teacher)
    assert foreign.status_code == 404
    followed = await client.post(f"{base}/follow", json={"room_id": str(world.demo1.id)}, headers=teacher)
    assert followed.status_code == 200 and followed.json()["followed_room"] == str(world.demo1.id)
    # A student sees the followed room and only the rooms they may open.
    seen = (await client.get(f"{base}/session", headers=a)).json()
    assert seen["followed_room"] == str(world.demo1.id)
    assert {r["id"] for r in seen["rooms"]} == {str(world.room_a.id), str(world.pair_ab.id), str(world.demo1.id)}
    assert len((await client.get(f"{base}/session", headers=teacher)).json()["rooms"]) == 4
    switched = await client.put(f"/api/rooms/{world.demo1.id}/mode", json={"mode": "pair"}, headers=teacher)
    assert switched.status_code == 200 and switched.json()["mode"] == "pair"
    after = (await client.get(f"{base}/session", headers=a)).json()
    assert after["followed_room"] is None and after["version"] > seen["version"]
    stop = await client.post(f"{base}/follow", json={"room_id": None}, headers=teacher)
    assert stop.status_code == 200 and stop.json()["followed_room"] is None


async def test_analytics_snapshot_route(client: httpx.AsyncClient, world: World, app: Starlette) -> None:
    run = await Run.objects().where(Run.id == world.run_a.id).first().run()
    assert run is not None
    analytics = app.state.control_plane.analytics
    await analytics.record_outcomes([{
        "run_id": str(run.id), "user_id": str(world.users["student_a"].id), "class_id": str(world.class1.id),
        "room_id": str(world.room_a.id), "exercise": "sample/hello", "verdict": "runtime_error",
        "error_type": "NameError", "error_message": "name 'x' is not defined", "error_line": 1, "wall_ms": 9,
        "finished_at": datetime.now(UTC).isoformat(),
    }])
    response = await client.get(f"/api/classes/{world.class1.id}/analytics", headers=world.headers("instructor"))
    assert response.status_code == 200
    body = response.json()
    assert body["totals"] == {"runs": 1, "failures": 1, "students": 1}
    assert body["exercises"][0]["top_errors"][0]["message"] == "name <name> is not defined"
    unknown = await client.get(f"/api/classes/{uuid.uuid4()}/analytics", headers=world.headers("admin"))
    assert unknown.status_code == 404


async def test_openapi_lists_the_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/api/classes/{class_id}/hand", "/api/rooms/{room_id}/mode", "/api/classes/{class_id}/analytics"} <= set(
        paths
    )
