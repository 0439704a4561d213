"""Every state-changing row of the matrix, replayed as a browser would send it: with the instructor's session
cookie but no CSRF token (403), and with the token but from a foreign Origin (403). Routes declared
``auth="none"`` (join, login, logout: no session is used) and ``auth="token"`` (API tokens only: Judge0, Piston)
are exempt from the token but not from the Origin.
Positive control: the same request with the token and an allowed Origin gets what the matrix expects for the
instructor, so the 403s above are the CSRF/Origin checks at work, not a request that could never succeed.

Data-driven from the ``rows_*.py`` modules, so every feature's routes are covered as soon as they have rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authz_harness import Case, app_settings, started
from authz_world import build_world
from piccolo.engine.base import Engine
from starlette.applications import Starlette
from test_authz_matrix import ROWS

from classroom.api import ENDPOINTS
from classroom.app import create_app
from classroom.auth import tokens

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# "none": no session is used; "token": API tokens only (Judge0 / Piston APIs), the session cookie is not a credential.
SESSIONLESS = {(ep.method, ep.path) for ep in ENDPOINTS if ep.auth in ("none", "token")}
TOKEN_ONLY = {(ep.method, ep.path) for ep in ENDPOINTS if ep.auth == "token"}
CASES = {case.id: (case, module) for case, module in ROWS if case.method in UNSAFE}  # one replay per row id


@pytest.fixture
async def csrf_app(sqlite_database: Engine[Any], tmp_path: Path) -> AsyncIterator[Starlette]:
    app = create_app(app_settings(tmp_path, sqlite_database))
    async with started(app):
        yield app


@pytest.mark.anyio
@pytest.mark.parametrize(("case", "module"), list(CASES.values()), ids=list(CASES))
async def test_cookie_requests_need_csrf_and_an_allowed_origin(case: Case, module: Any, csrf_app: Starlette) -> None:
    world = await build_world(csrf_app.state.settings)
    if hasattr(module, "setup"):
        await module.setup(world)
    session, csrf = tokens.new_session(world.settings, world.users["instructor"].id)
    url = case.url(world) if case.url else case.path
    body = case.body(world) if case.body else None
    transport = httpx.ASGITransport(csrf_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as browser:
        browser.cookies.set(tokens.SESSION_COOKIE, session)
        browser.cookies.set(tokens.CSRF_COOKIE, csrf)
        foreign = await browser.request(
            case.method, url, json=body, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403, f"{case.id}: foreign Origin got {foreign.status_code} {foreign.text}"
        if (case.method, case.path) not in SESSIONLESS:
            missing = await browser.request(case.method, url, json=body)
            assert missing.status_code == 403, f"{case.id}: no CSRF token got {missing.status_code} {missing.text}"
            assert "X-CSRF-Token" in missing.json()["detail"]
        origin = csrf_app.state.settings.allowed_origins[0]
        headers = {"X-CSRF-Token": csrf, "Origin": origin}
        if (case.method, case.path) in TOKEN_ONLY:  # the cookie is no credential there: the page sends a token
            headers.update(world.headers("instructor"))
        valid = await browser.request(case.method, url, json=body, headers=headers)
        expected = case.expect["instructor"]
        assert valid.status_code == expected, f"{case.id}: a valid browser request got {valid.status_code} {valid.text}"
        if expected == 403:  # refused by the policy, and not by the checks this test is about
            assert "CSRF" not in valid.text and "origin" not in valid.text.lower(), valid.text


def test_the_positive_controls_include_requests_that_succeed() -> None:
    succeed = [case.id for case, _ in CASES.values() if case.expect["instructor"] < 300]
    assert len(succeed) >= len(CASES) // 2, succeed
