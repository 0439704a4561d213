"""OIDC sign-in end to end against a loopback identity provider (authlib server components, RS256, JWKS):
the happy path, account linking, and the relying party's checks of state, nonce, signature and audience."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from accounts_harness import BASE_URL, new_client
from authz_harness import app_settings, started
from oidc_idp import TestIdP
from piccolo.engine.base import Engine
from starlette.applications import Starlette

from classroom.app import create_app
from classroom.auth import tokens
from classroom.tables import AuditLog, User

# authlib's own OpenID hook calls a soon-changing signature inside the test provider; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
async def idp(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TestIdP]:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the loopback provider speaks plain http
    provider = TestIdP()
    await provider.start()
    provider.add_client("classroom", "client-secret-0123", f"{BASE_URL}/auth/oidc/callback")
    yield provider
    await provider.stop()


@pytest.fixture
async def oidc_app(sqlite_database: Engine[Any], tmp_path: Path, idp: TestIdP) -> AsyncIterator[Starlette]:
    settings = app_settings(
        tmp_path,
        sqlite_database,
        oidc_discovery_url=idp.discovery_url,
        oidc_client_id="classroom",
        oidc_client_secret="client-secret-0123",
        oidc_instructors="@school.example",  # the test provider's user is alice@school.example
    )
    app = create_app(settings)
    async with started(app):
        yield app


@pytest.mark.anyio
@pytest.mark.parametrize("allowlist", [(), ("bob@school.example", "@other.example")])
async def test_an_identity_outside_the_instructor_allowlist_gets_a_clear_page(
    sqlite_database: Engine[Any], tmp_path: Path, idp: TestIdP, allowlist: tuple[str, ...]
) -> None:
    settings = app_settings(
        tmp_path,
        sqlite_database,
        oidc_discovery_url=idp.discovery_url,
        oidc_client_id="classroom",
        oidc_client_secret="client-secret-0123",
        oidc_instructors=",".join(allowlist),
    )
    app = create_app(settings)
    async with started(app), new_client(app) as browser:
        refused = await sign_in(browser)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "not an instructor here" in refused.text and "alice@school.example" in refused.text
        assert tokens.SESSION_COOKIE not in browser.cookies
        assert (await browser.get("/api/me")).status_code == 401
    assert await User.objects().where(User.oidc_subject == "alice-123").run() == []
    refusals = await AuditLog.objects().where(AuditLog.action == "signin.refused").run()
    assert len(refusals) == 1


def test_the_allowlist_matches_verified_addresses_and_domains(tmp_path: Path) -> None:
    from dataclasses import replace

    from classroom.accounts.oidc import may_become_instructor
    from classroom.settings import load_settings

    base = load_settings({"CLASSROOM_DATA_DIR": str(tmp_path)}, dotenv=None)
    listed = replace(base, oidc_instructors=("ada@school.edu", "@uni.example"))
    assert may_become_instructor(listed, "Ada@School.edu")
    assert may_become_instructor(listed, "bob@uni.example")
    assert not may_become_instructor(listed, "bob@evil-uni.example")
    assert not may_become_instructor(listed, "ada@school.edu.evil.example")
    assert not may_become_instructor(listed, None)
    assert not may_become_instructor(base, "ada@school.edu")  # empty: nobody new
    assert may_become_instructor(replace(base, oidc_instructors=("*",)), None)


async def to_provider(browser: httpx.AsyncClient, query: str = "next=/classes") -> str:
    """Start sign-in; return the provider's authorization URL."""
    start = await browser.get(f"/auth/oidc/login?{query}")
    assert start.status_code == 302, start.text
    return start.headers["location"]


async def provider_answer(authorize_url: str) -> str:
    """The user agent at the provider (which signs its user in at once); return the callback path."""
    async with httpx.AsyncClient() as network:
        answer = await network.get(authorize_url)
    assert answer.status_code == 302, answer.text
    callback = answer.headers["location"]
    assert callback.startswith(f"{BASE_URL}/auth/oidc/callback?")
    return callback.removeprefix(BASE_URL)


async def sign_in(browser: httpx.AsyncClient, query: str = "next=/classes") -> httpx.Response:
    return await browser.get(await provider_answer(await to_provider(browser, query)))


@pytest.mark.anyio
async def test_sign_in_creates_an_instructor_then_finds_them(oidc_app: Starlette, idp: TestIdP) -> None:
    async with new_client(oidc_app) as browser:
        assert (await browser.get("/api/auth/config")).json() == {
            "password": True,
            "oidc": True,
            "oidc_name": "127.0.0.1",
        }
        authorize = await to_provider(browser)
        assert authorize.startswith(f"{idp.issuer}/authorize?") and "nonce=" in authorize and "state=" in authorize
        done = await browser.get(await provider_answer(authorize))
        assert done.status_code == 302, done.text
        assert done.headers["location"] == "/classes"
        assert tokens.SESSION_COOKIE in browser.cookies and tokens.CSRF_COOKIE in browser.cookies
        me = (await browser.get("/api/me")).json()["user"]
        assert me["display_name"] == "Alice Teacher" and me["role"] == "instructor"
    async with new_client(oidc_app) as again:
        assert (await sign_in(again)).status_code == 302
        assert (await again.get("/api/me")).json()["user"]["id"] == me["id"]
    users = await User.objects().where(User.oidc_subject == "alice-123").run()
    assert len(users) == 1 and users[0].oidc_issuer == idp.issuer
    signins = await AuditLog.objects().where(AuditLog.action == "signin.ok").run()
    assert [row.detail for row in signins] and len(signins) == 2


@pytest.mark.anyio
async def test_a_student_links_an_identity(oidc_app: Starlette, idp: TestIdP) -> None:
    teacher = await User.objects().first().run()  # none yet: create a class owner the direct way
    assert teacher is None
    async with new_client(oidc_app) as instructor:
        await sign_in(instructor)
        csrf = {"X-CSRF-Token": instructor.cookies[tokens.CSRF_COOKIE]}
        code = (await instructor.post("/api/classes", json={"name": "C"}, headers=csrf)).json()["join_code"]
    idp.user = {"sub": "student-7", "name": "Sam"}
    async with new_client(oidc_app) as student:
        joined = (await student.post("/api/join", json={"join_code": code, "name": "Sam"})).json()["user"]
        forged = await student.get("/auth/oidc/login?link=1")  # e.g. a foreign page's link: no csrf value
        assert forged.status_code == 403
        linked = await sign_in(student, f"link=1&next=/&csrf={student.cookies[tokens.CSRF_COOKIE]}")
        assert linked.status_code == 302
    async with new_client(oidc_app) as elsewhere:
        await sign_in(elsewhere)
        me = (await elsewhere.get("/api/me")).json()
        assert me["user"]["id"] == joined["id"] and me["user"]["role"] == "student"
        assert [c["name"] for c in me["classes"]] == ["C"]


@pytest.mark.anyio
async def test_state_must_match(oidc_app: Starlette) -> None:
    async with new_client(oidc_app) as browser:
        callback = await provider_answer(await to_provider(browser))
        forged = callback.replace("state=", "state=x")
        response = await browser.get(forged)
        assert response.status_code == 401 and "state" in response.json()["detail"].lower()
        assert tokens.SESSION_COOKIE not in browser.cookies
    async with new_client(oidc_app) as victim, new_client(oidc_app) as attacker:
        # A callback started in another browser (login CSRF) has no state cookie here.
        callback = await provider_answer(await to_provider(attacker))
        response = await victim.get(callback)
        assert response.status_code == 401 and tokens.SESSION_COOKIE not in victim.cookies


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("misbehaviour", "reason"), [("nonce", "nonce"), ("signing key", "signature"), ("audience", "aud|azp")]
)
async def test_bad_id_tokens_are_rejected(oidc_app: Starlette, idp: TestIdP, misbehaviour: str, reason: str) -> None:
    if misbehaviour == "nonce":
        idp.nonce_override = "replayed-nonce"
    elif misbehaviour == "signing key":
        idp.sign_with_foreign_key = True
    else:
        idp.audience_override = "another-client"
    async with new_client(oidc_app) as browser:
        response = await sign_in(browser)
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "unauthenticated"
        assert any(word in response.json()["detail"] for word in reason.split("|"))
        assert tokens.SESSION_COOKIE not in browser.cookies
    assert await User.count().run() == 0


@pytest.mark.anyio
async def test_no_open_redirect(oidc_app: Starlette) -> None:
    async with new_client(oidc_app) as browser:
        response = await sign_in(browser, "next=//evil.example/x")
        assert response.status_code == 302 and response.headers["location"] == "/"


@pytest.mark.anyio
async def test_disabled_without_configuration(client: httpx.AsyncClient) -> None:
    response = await client.get("/auth/oidc/login")
    assert response.status_code == 404 and "not configured" in response.json()["detail"]
