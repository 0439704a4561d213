"""The class channel on one server: snapshots per role, events filtered per viewer, live editor rights, removal,
pairing, grid tiles, and precise close codes for bad input."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from authz_harness import LiveServer
from authz_world import World
from console_harness import closed_with, connect
from httpx import AsyncClient
from pycrdt import Doc, Text
from starlette.applications import Starlette

from collab import protocol

pytestmark = pytest.mark.anyio


async def call(client: AsyncClient, world: World, actor: str, method: str, path: str, body: Any = None) -> Any:
    response = await client.request(method, path, headers=world.headers(actor), json=body)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


async def test_snapshots_show_each_role_what_it_may_see(live: LiveServer, world: World) -> None:
    teacher = await connect(live, world, "instructor", world.class1.id)
    ann = await connect(live, world, "student_a", world.class1.id)
    try:
        t, a = teacher.snapshot, ann.snapshot
        assert t["class"]["join_code"] == world.class1.join_code and a["class"]["join_code"] is None
        assert {m["display_name"] for m in t["roster"]} >= {"Ann", "Ben", "Ines"} and "roster" not in a
        assert {r["id"] for r in t["rooms"]} == {str(r.id) for r in (world.room_a, world.room_b, world.pair_ab,
                                                                        world.demo1)}
        assert {r["id"] for r in a["rooms"]} == {str(world.room_a.id), str(world.pair_ab.id), str(world.demo1.id)}
        assert a["lessons"] and a["follow"] is None and a["me"]["role"] == "student"
    finally:
        await teacher.close()
        await ann.close()


async def test_a_hand_reaches_the_instructor_and_its_owner_only(
    live: LiveServer, world: World, client: AsyncClient
) -> None:
    teacher = await connect(live, world, "instructor", world.class1.id)
    ann = await connect(live, world, "student_a", world.class1.id)
    ben = await connect(live, world, "student_b", world.class1.id)
    try:
        body = {"note": "my loop never ends", "room_id": str(world.room_a.id), "file": "main.py", "line": 3}
        raised = await call(client, world, "student_a", "POST", f"/api/classes/{world.class1.id}/hand", body)
        seen = await teacher.wait_for(lambda e: e["type"] == "hand")
        assert seen["hand"]["note"] == "my loop never ends" and seen["hand"]["line"] == 3
        assert seen["hand"]["resolved_at"] is None
        mine = await ann.wait_for(lambda e: e["type"] == "hand")
        assert mine["hand"]["id"] == raised["id"]
        await call(client, world, "instructor", "POST", f"/api/classes/{world.class1.id}/hands/{raised['id']}/resolve")
        done = await ann.wait_for(lambda e: e["type"] == "hand")
        assert done["hand"]["resolved_at"] is not None
        await teacher.wait_for(lambda e: e["type"] == "hand" and e["hand"]["resolved_at"] is not None)
        # Ben saw neither the hand nor its message.
        assert not [e for e in await ben.drain() if e["type"] == "hand"]
        assert "my loop never ends" not in json.dumps(ben.seen)
    finally:
        for channel in (teacher, ann, ben):
            await channel.close()


def _edit(text: str) -> bytes:
    doc: Doc[Any] = Doc()
    doc["scratch"] = Text(text)
    return protocol.update_message(doc.get_update())


async def _collab(live: LiveServer, world: World, actor: str, room: object) -> Any:
    ws = await websockets.connect(f"{await live.url()}/collab/{room}?token={world.ws_token(actor)}", open_timeout=5)
    await asyncio.wait_for(ws.recv(), 5)  # the server's sync step 1
    return ws


async def test_pair_to_demo_makes_an_open_student_editor_read_only_at_once(
    live: LiveServer, world: World, client: AsyncClient, app: Starlette
) -> None:
    ann = await connect(live, world, "student_a", world.class1.id)
    editor = await _collab(live, world, "student_a", world.pair_ab.id)
    rooms = app.state.rooms
    try:
        await editor.send(_edit("before"))

        async def has(word: str) -> bool:
            doc = (await rooms._acquire(str(world.pair_ab.id))).doc
            return word in str(doc.get("scratch", type=Text))

        for _ in range(50):
            if await has("before"):
                break
            await asyncio.sleep(0.05)
        assert await has("before")
        await call(client, world, "instructor", "PUT", f"/api/rooms/{world.pair_ab.id}/mode", {"mode": "demo"})
        event = await ann.wait_for(lambda e: e["type"] == "room" and e["room"]["id"] == str(world.pair_ab.id))
        assert event["room"]["mode"] == "demo"
        await editor.send(_edit("after"))
        # The server answers with y-websocket's permission-denied message and keeps the document as it was.
        denied = await asyncio.wait_for(editor.recv(), 5)
        while isinstance(denied, bytes) and denied[:1] != b"\x02":
            denied = await asyncio.wait_for(editor.recv(), 5)
        assert denied[:1] == b"\x02"
        await asyncio.sleep(0.2)
        assert not await has("after")
    finally:
        await editor.close()
        await ann.close()


async def test_a_removed_student_is_closed_and_cannot_come_back(
    live: LiveServer, world: World, client: AsyncClient
) -> None:
    ann = await connect(live, world, "student_a", world.class1.id)
    teacher = await connect(live, world, "instructor", world.class1.id)
    try:
        await call(client, world, "instructor", "DELETE",
                   f"/api/classes/{world.class1.id}/students/{world.users['student_a'].id}")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ann.wait_for(lambda e: False)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        roster = await teacher.wait_for(lambda e: e["type"] == "roster")
        assert roster["removed"] == [str(world.users["student_a"].id)]
        assert "Ann" not in {m["display_name"] for m in roster["members"]}
        # Class 1 was her only class: her credentials stop working altogether (a student exists through classes).
        path = f"/api/classes/{world.class1.id}/events"
        assert await closed_with(live, path, world.ws_token("student_a")) == 4401
        response = await client.post(f"/api/classes/{world.class1.id}/hand", headers=world.headers("student_a"),
                                      json={"note": "hello?"})
        assert response.status_code == 401
    finally:
        await ann.close()
        await teacher.close()


async def test_malformed_frames_close_with_4400_and_nothing_else_is_affected(live: LiveServer, world: World) -> None:
    other = await connect(live, world, "instructor", world.class1.id)
    try:
        hostile = ("[" * 500 + "]" * 500, '{"type": "ping", "type": "ping"}', '{"type": NaN}')
        for frame in ("not json", json.dumps({"type": "shout"}), b"\x00\x01", json.dumps({"type": "ping", "x": 1}),
                      "x" * 5000, *hostile):
            bad = await connect(live, world, "student_b", world.class1.id)
            await bad.ws.send(frame)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await bad.wait_for(lambda e: False)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400, frame
        # The instructor's page still answers (only the offending sockets closed); it saw Ben come and go.
        assert all(e["type"] == "presence" for e in await other.drain())
    finally:
        await other.close()
    assert await closed_with(live, f"/api/classes/{world.class1.id}/events?grid=1&x", world.ws_token("student_a")) \
        == 4403
    assert await closed_with(live, "/api/classes/00000000-0000-4000-8000-000000000000/events",
                             world.ws_token("instructor")) == 4404
    assert await closed_with(live, f"/api/classes/{world.class1.id}/events", None) == 4401


async def test_pair_everyone_makes_pairs_and_a_three_and_students_see_their_room(
    live: LiveServer, world: World, client: AsyncClient
) -> None:
    klass = world.class1.id
    # A third student joins with the join code (and gets her personal room).
    joined = await client.post("/api/join", json={"join_code": world.class1.join_code, "name": "Cleo"})
    assert joined.status_code == 200, joined.text
    cleo = joined.json()["user"]["id"]
    ann = await connect(live, world, "student_a", klass)
    try:
        students = [str(world.users["student_a"].id), str(world.users["student_b"].id), cleo]
        made = await call(client, world, "instructor", "POST", f"/api/classes/{klass}/pairs",
                          {"students": students, "lesson": "sample/lists-and-loops"})
        assert [len(r["members"]) for r in made["rooms"]] == [3]
        event = await ann.wait_for(lambda e: e["type"] == "room" and e["room"]["id"] == made["rooms"][0]["id"])
        assert set(event["room"]["members"]) == set(students) and event["room"]["lesson"] == "sample/lists-and-loops"
        # Nobody is left unpaired now.
        response = await client.post(f"/api/classes/{klass}/pairs", headers=world.headers("instructor"), json={})
        assert response.status_code == 400
        # Members change: Cleo leaves; Ann learns of it, and she (a member still) sees the room.
        room = made["rooms"][0]["id"]
        out = await call(client, world, "instructor", "PUT", f"/api/rooms/{room}/members", {"members": students[:2]})
        assert out["removed"] == [cleo]
        await ann.wait_for(
            lambda e: e["type"] == "room" and e["room"]["id"] == room and cleo not in e["room"]["members"]
        )
        bad = await client.put(f"/api/rooms/{room}/members", headers=world.headers("instructor"),
                               json={"members": students[:1]})
        assert bad.status_code == 400
        personal = await client.put(f"/api/rooms/{world.room_a.id}/members", headers=world.headers("instructor"),
                                    json={"members": students[:2]})
        assert personal.status_code == 409
        # Archived: it leaves Ann's list.
        await call(client, world, "instructor", "PATCH", f"/api/rooms/{room}", {"archived": True})
        gone = await ann.wait_for(lambda e: e["type"] == "room" and e["room"]["id"] == room)
        assert gone["room"] == {"id": room, "visible": False}
    finally:
        await ann.close()


async def test_the_grid_gets_tiles_of_the_students_code_and_students_never_do(
    live: LiveServer, world: World, app: Starlette
) -> None:
    # Ben typed before the grid opened: his tile knows when, from the room's durable log.
    await app.state.rooms.set_files(str(world.room_b.id), {"main.py": "print('early')\n"})
    await app.state.rooms.flush()
    grid = await connect(live, world, "instructor", world.class1.id, "&grid=1")
    ben = await connect(live, world, "student_b", world.class1.id)
    try:
        assert "runs" in grid.snapshot
        early = next(t for t in grid.snapshot["tiles"] if t["room_id"] == str(world.room_b.id))
        assert early["lines"][0] == "print('early')" and early["edited_at"] is not None
        await app.state.rooms.set_files(str(world.room_a.id), {"main.py": "for i in range(3):\n    print(i)\n"})
        tile = await grid.wait_for(lambda e: e["type"] == "tile" and e["room_id"] == str(world.room_a.id))
        assert "    print(i)" in (tile.get("lines") or list(tile.get("patch", {}).values()))
        assert tile["file"] == "main.py" and tile["line"] == 1
        await app.state.rooms.set_files(str(world.room_a.id), {"main.py": "for i in range(3):\n    print(i * 2)\n"})
        patch = await grid.wait_for(lambda e: e["type"] == "tile" and e["room_id"] == str(world.room_a.id))
        assert patch["patch"] == {"1": "    print(i * 2)"} and patch["line"] == 2
        assert not [e for e in await ben.drain() if e["type"] == "tile"]
    finally:
        await grid.close()
        await ben.close()


async def test_follow_me_and_presence_reach_the_students(live: LiveServer, world: World, client: AsyncClient) -> None:
    ann = await connect(live, world, "student_a", world.class1.id)
    try:
        assert "Ann" in {p["display_name"] for p in ann.snapshot["online"]}
        ben = await connect(live, world, "student_b", world.class1.id)
        await ann.wait_for(lambda e: e["type"] == "presence" and "Ben" in {p["display_name"] for p in e["online"]})
        await call(client, world, "instructor", "POST", f"/api/classes/{world.class1.id}/follow",
                   {"room_id": str(world.demo1.id)})
        follow = await ann.wait_for(lambda e: e["type"] == "follow")
        assert follow["room_id"] == str(world.demo1.id)
        await ben.wait_for(lambda e: e["type"] == "follow")
        await call(client, world, "instructor", "POST", f"/api/classes/{world.class1.id}/follow", {"room_id": None})
        assert (await ann.wait_for(lambda e: e["type"] == "follow"))["room_id"] is None
        await ben.close()
        await ann.wait_for(lambda e: e["type"] == "presence" and "Ben" not in {p["display_name"] for p in e["online"]})
    finally:
        await ann.close()


async def test_a_student_the_analytics_call_stuck_gets_the_badge_after_a_failed_run(
    live: LiveServer, world: World, app: Starlette
) -> None:
    """Three failed runs in a row make Ann stuck in the analytics actor (in-process here); the next run outcome on
    the class channel makes the console ask for the stuck students and push them to the grid."""
    from datetime import UTC, datetime

    from classroom.events import Audience
    from classroom.tables import Run

    grid = await connect(live, world, "instructor", world.class1.id, "&grid=1")
    try:
        assert grid.snapshot["stuck"] == []
        ann = world.users["student_a"]
        outcomes = []
        for _ in range(3):
            run = Run(user=ann.id, klass=world.class1.id, room=world.room_a.id, status="finished",
                      verdict="runtime_error", created_at=datetime.now(UTC), finished_at=datetime.now(UTC))
            await run.save().run()
            outcomes.append({"run_id": str(run.id), "user_id": str(ann.id), "class_id": str(world.class1.id),
                             "room_id": str(world.room_a.id), "verdict": "runtime_error", "error_type": "NameError",
                             "error_message": "name 'x' is not defined", "error_line": 1,
                             "finished_at": datetime.now(UTC).isoformat()})
        answer = await app.state.control_plane.analytics.record_outcomes(outcomes)
        assert answer["accepted"] == 3, answer
        event = {"type": "run", "run": {"id": outcomes[-1]["run_id"], "user_id": str(ann.id),
                                        "room_id": str(world.room_a.id), "verdict": "runtime_error"}}
        app.state.events.publish(world.class1.id, event, Audience(users=(str(ann.id),), room=str(world.room_a.id)))
        stuck = await grid.wait_for(lambda e: e["type"] == "stuck", 10)
        assert [s["user_id"] for s in stuck["stuck"]] == [str(ann.id)]
    finally:
        await grid.close()
