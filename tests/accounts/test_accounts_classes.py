"""Classes and rooms through the API: creation, join codes, rosters, rooms, and removal closing live sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets
from authz_harness import LiveServer
from authz_world import World
from piccolo.engine.base import Engine
from starlette.applications import Starlette

from classroom.presence import service as presence

DEADLINE = 30.0  # seconds: generous, for a loaded machine; the tests check events, not speed


@pytest.fixture
def app_database(database: Engine[Any]) -> Engine[Any]:
    """These tests run on SQLite and on PostgreSQL."""
    return database


@pytest.mark.anyio
async def test_class_lifecycle(client: httpx.AsyncClient, world: World) -> None:
    teacher = world.headers("instructor")
    created = await client.post("/api/classes", json={"name": "  Python   101 "}, headers=teacher)
    assert created.status_code == 201
    class_id, code = created.json()["id"], created.json()["join_code"]
    assert len(code) == 8
    detail = (await client.get(f"/api/classes/{class_id}", headers=teacher)).json()
    assert detail["name"] == "Python 101" and detail["join_code"] == code
    assert [lesson["slug"] for lesson in detail["lessons"]][-1] == "prompt-construction"

    joined = await client.post("/api/join", json={"join_code": code, "name": "Kim"})
    kim = joined.json()["user"]["id"]
    rotated = (await client.post(f"/api/classes/{class_id}/join-code", headers=teacher)).json()["join_code"]
    assert rotated != code
    stale = await client.post("/api/join", json={"join_code": code, "name": "Late"})
    assert stale.status_code == 404
    assert (await client.post("/api/join", json={"join_code": rotated, "name": "Lee"})).status_code == 200

    roster = (await client.get(f"/api/classes/{class_id}/roster", headers=teacher)).json()["members"]
    assert [(m["display_name"], m["role"]) for m in roster] == [
        ("Ines", "instructor"),
        ("Kim", "student"),
        ("Lee", "student"),
    ]
    removed = await client.delete(f"/api/classes/{class_id}/students/{kim}", headers=teacher)
    assert removed.status_code == 200
    again = await client.delete(f"/api/classes/{class_id}/students/{kim}", headers=teacher)
    assert again.status_code == 404
    kim_token = joined.json()["token"]
    # Kim was in this class only: none of her credentials works any more (joining again is what is left).
    assert (
        await client.get(f"/api/classes/{class_id}", headers={"Authorization": f"Bearer {kim_token}"})
    ).status_code == 401


@pytest.mark.anyio
async def test_rooms(client: httpx.AsyncClient, world: World, app: Starlette) -> None:
    teacher = world.headers("instructor")
    url = f"/api/classes/{world.class1.id}/rooms"
    a, b, other = (str(world.users[k].id) for k in ("student_a", "student_b", "student_other"))
    pair = await client.post(
        url, json={"name": "Pair", "kind": "pair", "members": [a, b], "lesson": "sample/functions"}, headers=teacher
    )
    assert pair.status_code == 201
    room = (await client.get(f"/api/rooms/{pair.json()['id']}", headers=world.headers("student_b"))).json()
    assert room["can_write"] is True and room["lesson"]["title"] == "Functions"
    files = await app.state.rooms.files(pair.json()["id"])  # the room's document opens on the starter code
    assert list(files) == ["main.py"] and "def area(width, height):" in files["main.py"]
    assert sorted(m["display_name"] for m in room["members"]) == ["Ann", "Ben"]
    for body, problem in [
        ({"name": "P", "kind": "pair", "members": [a]}, "2–3 students"),
        ({"name": "P", "kind": "personal", "members": [a, b]}, "1–1"),
        ({"name": "P", "kind": "pair", "members": [a, other]}, "not students of this class"),
        ({"name": "P", "kind": "lecture"}, "kind"),
        ({"name": "P", "kind": "demo", "lesson": "sample/missing"}, "no lesson"),
        ({"name": "P", "kind": "pair", "members": [a, "nope"]}, "members"),
    ]:
        response = await client.post(url, json=body, headers=teacher)
        assert response.status_code == 400, body
        assert problem in response.json()["detail"]
    demo = (await client.get(f"/api/rooms/{world.demo1.id}", headers=world.headers("student_a"))).json()
    assert demo["can_write"] is False
    assert (await client.get(f"/api/rooms/{world.demo1.id}", headers=teacher)).json()["can_write"] is True


@pytest.mark.anyio
async def test_removing_a_student_closes_their_sockets_within_a_second(
    client: httpx.AsyncClient, live: LiveServer, world: World
) -> None:
    student = world.users["student_a"]
    url = f"{await live.url()}/collab/{world.room_a.id}?token={world.ws_token('student_a')}"
    async with websockets.connect(url) as ws:
        await asyncio.wait_for(ws.recv(), timeout=5)
        for _ in range(int(DEADLINE / 0.01)):  # registered once the handshake's access check ran
            if presence.count(student.id):
                break
            await asyncio.sleep(0.01)
        assert presence.count(student.id) == 1
        online = (await client.get(f"/api/classes/{world.class1.id}", headers=world.headers("instructor"))).json()
        assert online["online"] == [{"id": str(student.id), "display_name": "Ann"}]
        removed = await client.delete(
            f"/api/classes/{world.class1.id}/students/{student.id}", headers=world.headers("instructor")
        )
        assert removed.json()["closed_sockets"] == 1
        # closed_sockets == 1: the server closed it before answering; the close frame is on its way
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(DEADLINE):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    reopen = f"{await live.url()}/collab/{world.room_a.id}?token={world.ws_token('student_a')}"
    async with websockets.connect(reopen) as ws:
        with pytest.raises(websockets.ConnectionClosed) as refused:
            await asyncio.wait_for(ws.recv(), timeout=DEADLINE)
        # Ann was in this class only: her socket token no longer signs anyone in.
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 4401


@pytest.mark.anyio
async def test_presence_registry_unit() -> None:
    import uuid

    closed: list[str] = []
    user, klass = uuid.uuid4(), uuid.uuid4()

    async def close() -> None:
        closed.append("x")

    async def hang() -> None:
        await asyncio.Event().wait()  # never closes

    forget = presence.register(user, close, class_id=klass, display_name="U")
    presence.register(user, hang, class_id=klass)
    assert presence.online(klass) == [(user, "U")]
    async with asyncio.timeout(DEADLINE):  # a hung socket does not hold up removal (forever would fail here)
        assert await presence.close_user(user) == 2
    assert closed == ["x"]
    assert presence.count(user) == 0
    forget()  # idempotent after removal


@pytest.mark.anyio
async def test_a_signed_in_student_keeps_one_account_across_classes(
    client: httpx.AsyncClient, world: World, new_browser: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    from classroom.auth import tokens

    second = await client.post("/api/classes", json={"name": "Second"}, headers=world.headers("other_instructor"))
    async with new_browser(client._transport.app) as browser:  # type: ignore[attr-defined]
        first = (await browser.post("/api/join", json={"join_code": world.class1.join_code, "name": "Ria"})).json()
        csrf = {"X-CSRF-Token": browser.cookies[tokens.CSRF_COOKIE]}
        body = {"join_code": second.json()["join_code"], "name": "Ria again"}
        again = (await browser.post("/api/join", json=body, headers=csrf)).json()
        assert again["user"]["id"] == first["user"]["id"] and again["user"]["display_name"] == "Ria"
        csrf = {"X-CSRF-Token": browser.cookies[tokens.CSRF_COOKIE]}  # every join starts a fresh session
        repeat = await browser.post("/api/join", json=body, headers=csrf)
        assert repeat.json()["user"]["id"] == first["user"]["id"]
        me = (await browser.get("/api/me")).json()
        assert sorted(c["name"] for c in me["classes"]) == sorted([world.class1.name, "Second"])
        rooms = (await browser.get(f"/api/classes/{second.json()['id']}")).json()["rooms"]
        assert [r["kind"] for r in rooms] == ["personal"]  # joining twice made one room
        # Without the CSRF header the cookie is not trusted: a new account, not an enrollment of this one.
        stranger = await browser.post("/api/join", json=body)
        assert stranger.json()["user"]["id"] != first["user"]["id"]


@pytest.mark.anyio
async def test_a_student_removed_from_their_last_class_can_do_nothing_but_join(
    client: httpx.AsyncClient, world: World, app: Starlette
) -> None:
    """Every credential of the student stops at once: the session cookie, socket tokens and API tokens
    (tokens are checked against the database on every request, so every replica agrees)."""
    from accounts_harness import new_client

    from classroom.auth import tokens

    code = world.class1.join_code
    async with new_client(app) as kim:
        joined = await kim.post("/api/join", json={"join_code": code, "name": "Kim"})
        kim_id = joined.json()["user"]["id"]
        csrf = {"X-CSRF-Token": kim.cookies[tokens.CSRF_COOKIE]}
        api_token = (await kim.post("/api/api-tokens", json={"name": "laptop"}, headers=csrf)).json()["token"]
        bearer = {"Authorization": f"Bearer {api_token}"}
        run = {"code": "print(1)", "class_id": str(world.class1.id)}
        assert (await kim.get("/api/me")).status_code == 200
        assert (await client.post("/api/runs", json=run, headers=bearer)).status_code == 503  # allowed; no Ray here

        removed = await client.delete(
            f"/api/classes/{world.class1.id}/students/{kim_id}", headers=world.headers("instructor")
        )
        assert removed.status_code == 200
        assert (await kim.get("/api/me")).status_code == 401
        assert (await kim.post("/api/tokens", headers=csrf)).status_code == 401
        assert (await client.post("/api/runs", json=run, headers=bearer)).status_code == 401
        assert (await client.post("/api/runs", json={"code": "print(1)"}, headers=bearer)).status_code == 401
        again = await kim.post("/api/join", json={"join_code": code, "name": "Kim"})
        assert again.status_code == 200  # joining is what is left to them


@pytest.mark.anyio
async def test_a_student_removed_from_one_class_keeps_the_other(client: httpx.AsyncClient, world: World) -> None:
    ann = world.headers("student_a")
    joined = await client.post("/api/join", json={"join_code": world.class2.join_code, "name": "Ann"}, headers=ann)
    assert joined.status_code == 200 and joined.json()["user"]["id"] == str(world.users["student_a"].id)
    removed = await client.delete(
        f"/api/classes/{world.class1.id}/students/{world.users['student_a'].id}", headers=world.headers("instructor")
    )
    assert removed.status_code == 200
    assert (await client.get("/api/me", headers=ann)).status_code == 200
    in_removed = {"code": "print(1)", "class_id": str(world.class1.id)}
    assert (await client.post("/api/runs", json=in_removed, headers=ann)).status_code == 404
    in_other = {"code": "print(1)", "class_id": str(world.class2.id)}
    assert (await client.post("/api/runs", json=in_other, headers=ann)).status_code == 503  # allowed; no Ray here


@pytest.mark.anyio
async def test_a_burst_of_room_handshakes_beyond_the_bound_is_all_served(live: LiveServer, world: World) -> None:
    # Room handshakes check access a few at a time (classroom.rooms.routes.HANDSHAKES_AT_ONCE). A burst several
    # times that size, with refusals mixed in, must be served in full: every allowed socket gets the room's
    # first sync message, every refused one its close code, and refusals give their turn back.
    from classroom.rooms.routes import HANDSHAKES_AT_ONCE

    base = await live.url()
    allowed = [
        f"{base}/collab/{room.id}?token={world.ws_token(actor)}"
        for actor, room in [("student_a", world.room_a), ("student_b", world.pair_ab), ("instructor", world.demo1)]
    ] * HANDSHAKES_AT_ONCE
    refused = [f"{base}/collab/{world.room_a.id}?token=not-a-token"] * (HANDSHAKES_AT_ONCE * 2)

    async def first_frame(url: str) -> bytes | int:
        async with websockets.connect(url) as ws:
            try:
                frame = await asyncio.wait_for(ws.recv(), timeout=DEADLINE)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd is not None else -1
            assert isinstance(frame, bytes)
            return frame

    results = await asyncio.gather(*(first_frame(u) for u in [*refused, *allowed]))
    assert results[: len(refused)] == [4401] * len(refused)
    assert all(isinstance(r, bytes) and r[:2] == b"\x00\x00" for r in results[len(refused) :])  # sync step 1
