"""Lasting identity (issue 12): a taken name asks instead of duplicating, the return code and the return link
get the same account back, an instructor reads a student's link, students may set a password."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from accounts_harness import new_client
from authz_world import World
from piccolo.engine.base import Engine
from starlette.applications import Starlette

from classroom.accounts import identity as service
from classroom.tables import AuditLog, Enrollment, User

pytestmark = pytest.mark.anyio


@pytest.fixture
def app_database(database: Engine[Any]) -> Engine[Any]:
    """These tests run on SQLite and on PostgreSQL."""
    return database


async def students_named(world: World, name: str) -> int:
    enrolled = await Enrollment.select(Enrollment.user).where(Enrollment.klass == world.class1.id).run()
    ids = [r["user"] for r in enrolled]
    users = await User.objects().where(User.id.is_in(ids)).run()
    return sum(1 for u in users if u.display_name.casefold() == name.casefold())


async def test_a_taken_name_asks_for_the_return_code_and_never_duplicates(app: Starlette, world: World) -> None:
    code = world.class1.join_code
    async with new_client(app) as first, new_client(app) as second:
        zoe = (await first.post("/api/join", json={"join_code": code, "name": "Zoe"})).json()["user"]
        again = await second.post("/api/join", json={"join_code": code, "name": "  zoe "})
        assert again.status_code == 409 and again.json()["error"] == "name_taken"
        assert "return code" in again.json()["detail"]
        wrong = await second.post("/api/join", json={"join_code": code, "name": "Zoe", "return_code": "AAAA-AAAA"})
        assert wrong.status_code == 401
        assert await students_named(world, "zoe") == 1
        right = service.return_code(app.state.settings, uuid.UUID(zoe["id"])).lower().replace("-", " ")
        back = await second.post("/api/join", json={"join_code": code, "name": "ZOE", "return_code": right})
        assert back.status_code == 200 and back.json()["user"]["id"] == zoe["id"]
        assert (await second.get("/api/me")).json()["user"]["id"] == zoe["id"]
        # The first device is Zoe still; joining again from it is the idempotent re-join it always was.
        csrf = {"X-CSRF-Token": first.cookies["classroom_csrf"]}
        again_first = await first.post("/api/join", json={"join_code": code, "name": "Zoe"}, headers=csrf)
        assert again_first.status_code == 200
        assert await students_named(world, "zoe") == 1
    joins = await AuditLog.objects().where(AuditLog.action == "class.join").order_by(AuditLog.created_at).run()
    details = [
        j.detail if isinstance(j.detail, dict) else json.loads(j.detail) for j in joins if str(j.actor) == zoe["id"]
    ]
    assert [d["returning"] for d in details] == [False, True, False]


async def test_the_return_link_signs_another_browser_in_as_the_same_student(app: Starlette, world: World) -> None:
    async with new_client(app) as laptop, new_client(app) as tablet:
        zoe = (await laptop.post("/api/join", json={"join_code": world.class1.join_code, "name": "Zoe"})).json()
        mine = (await laptop.get("/api/me/return-link")).json()
        assert mine["user_id"] == zoe["user"]["id"] and mine["link"].startswith("http://127.0.0.1:8000/#return=")
        token = mine["link"].split("#return=", 1)[1]
        signed = await tablet.post("/api/return", json={"token": token})
        assert signed.status_code == 200 and signed.json()["user"]["id"] == zoe["user"]["id"]
        rooms = (await tablet.get(f"/api/classes/{world.class1.id}")).json()["rooms"]
        assert "Zoe's room" in [r["name"] for r in rooms]
        # The instructor shows the same link and code from the roster.
        shown = await laptop.get(
            f"/api/classes/{world.class1.id}/students/{zoe['user']['id']}/return-link",
            headers=world.headers("instructor"),
        )
        assert shown.status_code == 200 and shown.json() == mine
        forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        assert (await tablet.post("/api/return", json={"token": forged})).status_code == 401
        assert (await tablet.post("/api/return", json={"token": "!" * 30})).status_code == 400
        foreign = await tablet.post("/api/return", json={"token": token}, headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        await User.update({User.disabled: True}).where(User.id == uuid.UUID(zoe["user"]["id"])).run()
        assert (await tablet.post("/api/return", json={"token": token})).status_code == 401


async def test_a_student_password_also_claims_the_name(app: Starlette, world: World) -> None:
    code = world.class1.join_code
    async with new_client(app) as first, new_client(app) as second:
        zoe = (await first.post("/api/join", json={"join_code": code, "name": "Zoe"})).json()["user"]
        csrf = {"X-CSRF-Token": first.cookies["classroom_csrf"]}
        assert (await first.post("/api/me/password", json={"password": "short"}, headers=csrf)).status_code == 400
        ok = await first.post("/api/me/password", json={"password": "zoe-secret-123"}, headers=csrf)
        assert ok.status_code == 200
        change = await first.post("/api/me/password", json={"password": "another-secret"}, headers=csrf)
        assert change.status_code == 400  # changing needs the current one
        bad = await second.post("/api/join", json={"join_code": code, "name": "Zoe", "password": "nope-nope-nope"})
        assert bad.status_code == 401
        good = await second.post("/api/join", json={"join_code": code, "name": "Zoe", "password": "zoe-secret-123"})
        assert good.status_code == 200 and good.json()["user"]["id"] == zoe["id"]


async def test_tokens_and_codes_are_bound_to_the_user_and_the_key(app: Starlette) -> None:
    settings = app.state.settings
    a, b = uuid.uuid4(), uuid.uuid4()
    assert service.user_of_token(settings, service.return_token(settings, a)) == a
    assert service.return_token(settings, a) != service.return_token(settings, b)
    assert service.return_code(settings, a) != service.return_code(settings, b)
    assert service.same_code(settings, a, service.return_code(settings, a).lower())
    assert not service.same_code(settings, b, service.return_code(settings, a))
