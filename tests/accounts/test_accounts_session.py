"""Browser sessions: the cookies join/login set, CSRF and Origin on state-changing requests, sign-in, API tokens,
the admin token, and the WebSocket handshake's Origin check."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from accounts_harness import new_client
from authz_harness import LiveServer, app_settings, started
from authz_world import World, build_world
from piccolo.engine.base import Engine
from starlette.applications import Starlette

from classroom.accounts import service as accounts
from classroom.app import create_app
from classroom.auth import tokens
from classroom.auth.service import USER_CACHE_SECONDS
from classroom.tables import AuditLog, User

PASSWORD = "correct-horse-battery"


@pytest.fixture
def app_database(database: Engine[Any]) -> Engine[Any]:
    """These tests run on SQLite and on PostgreSQL."""
    return database


@asynccontextmanager
async def joined(app: Starlette, world: World, name: str = "Zoe") -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as a new student of class 1."""
    async with new_client(app) as browser:
        response = await browser.post("/api/join", json={"join_code": world.class1.join_code, "name": name})
        assert response.status_code == 200, response.text
        yield browser


@pytest.mark.anyio
async def test_join_sets_the_session_and_csrf_cookies(app: Starlette, world: World) -> None:
    async with new_client(app) as browser:
        response = await browser.post("/api/join", json={"join_code": world.class1.join_code.lower(), "name": " Zoe "})
        assert response.status_code == 200
        body = response.json()
        assert body["user"]["display_name"] == "Zoe" and body["user"]["role"] == "student"
        cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
        assert "httponly" in cookies[tokens.SESSION_COOKIE] and "samesite=lax" in cookies[tokens.SESSION_COOKIE]
        assert "httponly" not in cookies[tokens.CSRF_COOKIE]
        assert "secure" not in cookies[tokens.SESSION_COOKIE]  # served over http here
        me = (await browser.get("/api/me")).json()
        assert me["classes"] == [
            {"id": str(world.class1.id), "name": world.class1.name, "role": "student", "archived": False}
        ]
        klass = (await browser.get(f"/api/classes/{world.class1.id}")).json()
        assert klass["join_code"] is None
        assert [r["kind"] for r in klass["rooms"]] == ["demo", "personal"]  # the demo and her own new room
    rows = await AuditLog.objects().where(AuditLog.action == "class.join").run()
    assert len(rows) == 1 and rows[0].klass == world.class1.id


@pytest.mark.anyio
async def test_join_with_a_bad_code_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/join", json={"join_code": "NOPE1234", "name": "Zoe"})
    assert response.status_code == 404 and response.json()["error"] == "not_found"


@pytest.mark.anyio
async def test_csrf_is_required_for_cookie_requests(app: Starlette, world: World) -> None:
    async with joined(app, world) as browser:
        csrf = browser.cookies[tokens.CSRF_COOKIE]
        missing = await browser.post("/api/tokens")
        assert missing.status_code == 403 and "X-CSRF-Token" in missing.json()["detail"]
        wrong = await browser.post("/api/tokens", headers={"X-CSRF-Token": "guess"})
        assert wrong.status_code == 403 and "does not match" in wrong.json()["detail"]
        # A planted cookie with a matching header is not enough: the value is bound to the signed session.
        browser.cookies.set(tokens.CSRF_COOKIE, "planted")
        planted = await browser.post("/api/tokens", headers={"X-CSRF-Token": "planted"})
        assert planted.status_code == 403
        browser.cookies.set(tokens.CSRF_COOKIE, csrf)
        foreign = await browser.post("/api/tokens", headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
        assert foreign.status_code == 403 and "origin" in foreign.json()["detail"]
        ok = await browser.post("/api/tokens", headers={"X-CSRF-Token": csrf, "Origin": "http://127.0.0.1:8000"})
        assert ok.status_code == 200
        assert (await browser.get("/api/me")).status_code == 200  # safe methods need no token


@pytest.mark.anyio
async def test_bearer_requests_need_no_csrf(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/classes", json={"name": "Via API"}, headers=world.headers("instructor"))
    assert response.status_code == 201


@pytest.mark.anyio
async def test_forged_or_foreign_session_cookie_is_401(app: Starlette, world: World) -> None:
    async with new_client(app) as browser:
        value, _ = tokens.new_session(world.settings, world.users["student_a"].id)
        browser.cookies.set(tokens.SESSION_COOKIE, value[:-2] + "xx")
        assert (await browser.get("/api/me")).status_code == 401
        other = world.settings.__class__(**{**world.settings.__dict__, "secret_key": "y" * 48})
        browser.cookies.set(tokens.SESSION_COOKIE, tokens.new_session(other, world.users["student_a"].id)[0])
        assert (await browser.get("/api/me")).status_code == 401


@pytest.mark.anyio
async def test_login_logout_and_audit(app: Starlette, world: World) -> None:
    await accounts.create_password_user(username="Teach", display_name="Teacher", password=PASSWORD)
    async with new_client(app) as browser:
        bad = await browser.post("/api/login", json={"username": "teach", "password": "wrong-password"})
        assert bad.status_code == 401
        good = await browser.post("/api/login", json={"username": "TEACH", "password": PASSWORD})
        assert good.status_code == 200 and good.json()["user"]["role"] == "instructor"
        assert (await browser.get("/api/me")).status_code == 200
        bearer = good.json()["token"]
        copied = browser.cookies[tokens.SESSION_COOKIE]
        out = await browser.post("/api/logout", headers={"X-CSRF-Token": browser.cookies[tokens.CSRF_COOKIE]})
        assert out.status_code == 200
        assert (await browser.get("/api/me")).status_code == 401
        browser.cookies.set(tokens.SESSION_COOKIE, copied)  # a copy of the cookie is signed out too
        replay = await browser.get("/api/me")
        assert replay.status_code == 401 and "signed out" in replay.json()["detail"]
        assert (await browser.get("/api/me", headers={"Authorization": f"Bearer {bearer}"})).status_code == 200
    actions = [r["action"] for r in await AuditLog.select(AuditLog.action).order_by(AuditLog.created_at).run()]
    assert actions == ["signin.failed", "signin.ok"]


@pytest.mark.anyio
async def test_students_cannot_log_in_with_a_password(client: httpx.AsyncClient, world: World) -> None:
    """Accounts without a password hash never match, whatever is sent (the dummy hash is not a password)."""
    student = world.users["student_a"]
    await User.update({User.username: "ann"}).where(User.id == student.id).run()
    response = await client.post("/api/login", json={"username": "ann", "password": "not-a-real-password-0"})
    assert response.status_code == 401


@pytest.mark.anyio
async def test_api_tokens_and_admin_token(client: httpx.AsyncClient, world: World) -> None:
    created = await client.post("/api/api-tokens", json={"name": "grader"}, headers=world.headers("instructor"))
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("cr_")
    as_script = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/me", headers=as_script)).json()["user"]["display_name"] == "Ines"
    revoked = await client.delete(f"/api/api-tokens/{created.json()['id']}", headers=world.headers("instructor"))
    assert revoked.status_code == 200
    assert (await client.get("/api/me", headers=as_script)).status_code == 401
    admin = {"Authorization": f"Bearer {world.settings.admin_token}"}
    me = (await client.get("/api/me", headers=admin)).json()
    assert me["user"]["role"] == "admin"
    assert (await client.get(f"/api/classes/{world.class2.id}/roster", headers=admin)).status_code == 200
    assert (await client.get("/api/me", headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await client.get("/api/me", headers={"Authorization": "Basic abc"})).status_code == 401


@pytest.mark.anyio
async def test_disabled_users_are_signed_out_everywhere(client: httpx.AsyncClient, world: World) -> None:
    headers = world.headers("student_a")
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    await User.update({User.disabled: True}).where(User.id == world.users["student_a"].id).run()
    await asyncio.sleep(USER_CACHE_SECONDS)  # each process may answer from what it read that long ago, no longer
    assert (await client.get("/api/me", headers=headers)).status_code == 401


async def ws_outcome(url: str, origin: str | None) -> int:
    """101 when the socket opens and answers a ping, else the close code or the refused handshake's status (0: no
    answer at all). A refused socket is closed right after the handshake, before the server reads our ping: events
    with generous deadlines, not a quiet half second a loaded machine may not keep."""
    headers = {"Origin": origin} if origin else {}
    try:
        async with websockets.connect(url, additional_headers=headers, open_timeout=30) as ws:
            try:
                await asyncio.wait_for(await ws.ping(), timeout=30)
            except TimeoutError:
                return 0
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else 1006
            return 101
    except websockets.InvalidStatus as refused:
        return refused.response.status_code


@pytest.mark.anyio
async def test_websocket_with_a_foreign_origin_is_rejected(live: LiveServer, world: World) -> None:
    url = f"{await live.url()}/collab/{world.room_a.id}?token={world.ws_token('student_a')}"
    assert await ws_outcome(url, "http://127.0.0.1:8000") == 101
    assert await ws_outcome(url, None) == 101
    assert await ws_outcome(url, "https://evil.example") in (403, 4403)
    assert await ws_outcome(url.replace("token=", "token=x"), "http://127.0.0.1:8000") == 4401


@pytest.mark.anyio
async def test_websocket_accepts_the_session_cookie(app: Starlette, live: LiveServer, world: World) -> None:
    async with joined(app, world) as browser:
        me = (await browser.get("/api/me")).json()["user"]["id"]
        room = next(
            r for r in (await browser.get(f"/api/classes/{world.class1.id}")).json()["rooms"] if r["kind"] == "personal"
        )
        cookie = f"{tokens.SESSION_COOKIE}={browser.cookies[tokens.SESSION_COOKIE]}"
        url = f"{await live.url()}/collab/{room['id']}"
        async with websockets.connect(url, additional_headers={"Cookie": cookie}) as ws:
            await asyncio.wait_for(ws.recv(), timeout=5)
        assert uuid.UUID(me)


@pytest.mark.anyio
async def test_cookies_are_secure_behind_https(sqlite_database: Engine[Any], tmp_path: Path) -> None:
    settings = app_settings(tmp_path, sqlite_database, public_url="https://class.example")
    app = create_app(settings)
    async with started(app), new_client(app) as browser:
        world = await build_world(settings)
        response = await browser.post("/api/join", json={"join_code": world.class1.join_code, "name": "Sec"})
        cookies = [c.lower() for c in response.headers.get_list("set-cookie")]
        assert len(cookies) == 2 and all("; secure" in c and "samesite=lax" in c for c in cookies)


@pytest.mark.anyio
async def test_the_admin_token_bootstraps_an_instructor(client: httpx.AsyncClient, world: World) -> None:
    admin = {"Authorization": f"Bearer {world.settings.admin_token}"}
    body = {"username": "Grace", "display_name": "Grace H", "password": PASSWORD}
    created = await client.post("/api/admin/users", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["username"] == "grace"
    assert (await client.post("/api/admin/users", json=body, headers=admin)).status_code == 409
    reserved = {**body, "username": "admin-token"}
    assert (await client.post("/api/admin/users", json=reserved, headers=admin)).status_code == 400
    login = await client.post("/api/login", json={"username": "grace", "password": PASSWORD})
    assert login.status_code == 200 and login.json()["user"]["role"] == "instructor"
