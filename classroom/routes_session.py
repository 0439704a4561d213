"""Signing in and out: join with a code, password login, logout, who am I, WebSocket and API tokens.

Sign-ins and joins are rate limited (:mod:`classroom.ratelimit`) and audited (:mod:`classroom.audit`); a present
``Origin`` must be allowed even here, so a foreign page cannot sign a browser into an account (login CSRF).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from classroom import accounts, audit, auth, classes, ratelimit, tokens
from classroom.access import parse_id
from classroom.api import endpoint
from classroom.errors import ClassroomError, NotFound, Unauthenticated
from classroom.passwords import hash_password, needs_rehash, verify_password
from classroom.schemas import (
    ApiTokenIn,
    ApiTokenOut,
    ClassBrief,
    JoinIn,
    LoginIn,
    MeOut,
    NewUserIn,
    NewUserOut,
    OkOut,
    SessionOut,
    TokenOut,
    UserOut,
)
from classroom.tables import ApiToken, User

# Verifying against a dummy hash when the account does not exist keeps the timing of both failures alike.
_DUMMY_HASH = hash_password("not-a-real-password-0")


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, display_name=user.display_name, role=user.role)


def signed_in(request: Request, user: User, status: int = 200) -> Response:
    settings = auth.settings_of(request)
    body = SessionOut(token=auth.issue_api_jwt(settings, user), user=user_out(user))
    response = JSONResponse(body.model_dump(mode="json"), status_code=status)
    auth.start_session(response, settings, user)
    return response


async def _signed_in_or_none(request: Request) -> User | None:
    """The requester if validly signed in (CSRF included), else None: a stale cookie must not block a join."""
    try:
        return await auth.optional_user(request)
    except ClassroomError:
        return None


@endpoint(
    "POST",
    "/api/join",
    summary="Join a class with its code and a display name; signs the browser in as a new student",
    tag="accounts",
    body=JoinIn,
    response=SessionOut,
    errors=(403, 404, 429),
    auth="none",
)
async def join(request: Request, body: JoinIn) -> Response:
    settings = auth.settings_of(request)
    auth.check_origin(settings, request)
    ip = auth.client_ip(request)
    await ratelimit.check(request, "join", ip)
    joined = await classes.join(body.join_code, body.name, await _signed_in_or_none(request))
    await audit.record("class.join", actor=joined.user.id, class_id=joined.klass.id, ip=ip, room=str(joined.room.id))
    return signed_in(request, joined.user)


@endpoint(
    "POST",
    "/api/login",
    summary="Sign in with a username and password (instructors and admins)",
    tag="accounts",
    body=LoginIn,
    response=SessionOut,
    errors=(401, 403, 429),
    auth="none",
)
async def login(request: Request, body: LoginIn) -> Response:
    settings = auth.settings_of(request)
    auth.check_origin(settings, request)
    ip = auth.client_ip(request)
    username = body.username.strip().lower()
    await ratelimit.check(request, "signin", f"{username}|{ip}")
    user = await User.objects().where(User.username == username).first().run()
    has_password = user is not None and bool(user.password_hash)
    stored = user.password_hash if user is not None and has_password else _DUMMY_HASH
    ok = verify_password(stored, body.password) and has_password
    if not ok or user is None or user.disabled:
        await audit.record("signin.failed", actor=None if user is None else user.id, ip=ip, username=username)
        raise Unauthenticated("wrong username or password")
    if needs_rehash(stored):
        await User.update({User.password_hash: hash_password(body.password)}).where(User.id == user.id).run()
    await audit.record("signin.ok", actor=user.id, ip=ip, method="password")
    return signed_in(request, user)


@endpoint(
    "POST", "/api/logout", summary="Sign out: clear the session cookies", tag="accounts", response=OkOut, auth="none"
)
async def logout(request: Request) -> Response:
    settings = auth.settings_of(request)
    auth.check_origin(settings, request)
    await auth.revoke_session(request)  # a copy of the cookie stops working too
    response = JSONResponse(OkOut().model_dump())
    auth.end_session(response, settings)
    return response


@endpoint("GET", "/api/me", summary="The signed-in user and their classes", tag="accounts", response=MeOut)
async def me(request: Request) -> MeOut:
    user = await auth.require_user(request)
    found = await classes.classes_of(user)
    return MeOut(user=user_out(user), classes=[ClassBrief(id=k.id, name=k.name, role=r) for k, r in found])


@endpoint(
    "POST",
    "/api/tokens",
    summary="A short-lived token (JWT, aud classroom-ws) for opening one WebSocket",
    tag="accounts",
    response=TokenOut,
)
async def ws_token(request: Request) -> TokenOut:
    user = await auth.require_user(request)
    return TokenOut(token=auth.issue_ws_token(auth.settings_of(request), user), expires_in=tokens.WS_TOKEN_SECONDS)


@endpoint(
    "POST",
    "/api/api-tokens",
    summary="Create a long-lived API token for scripts (shown once)",
    tag="accounts",
    body=ApiTokenIn,
    response=ApiTokenOut,
    status=201,
)
async def create_api_token(request: Request, body: ApiTokenIn) -> ApiTokenOut:
    user = await auth.require_user(request)
    token, digest = tokens.new_api_token()
    row = ApiToken(
        id=uuid.uuid4(), user=user.id, name=body.name.strip(), token_hash=digest, created_at=datetime.now(UTC)
    )
    await row.save().run()
    await audit.record("token.created", actor=user.id, target=str(row.id), ip=auth.client_ip(request))
    return ApiTokenOut(id=row.id, name=row.name, token=token)


@endpoint(
    "DELETE",
    "/api/api-tokens/{token_id}",
    summary="Revoke one of your API tokens",
    tag="accounts",
    response=OkOut,
    errors=(404,),
)
async def revoke_api_token(request: Request) -> OkOut:
    user = await auth.require_user(request)
    token_id = parse_id(request.path_params["token_id"], "API token")
    revoked = (
        await ApiToken.update({ApiToken.revoked: True})
        .where((ApiToken.id == token_id) & (ApiToken.user == user.id))
        .returning(ApiToken.id)
        .run()
    )
    if not revoked:
        raise NotFound("no such API token")
    await audit.record("token.revoked", actor=user.id, target=str(token_id))
    return OkOut()


@endpoint(
    "POST",
    "/api/admin/users",
    summary="Create an instructor (or admin) with a local password (admins; e.g. with CLASSROOM_ADMIN_TOKEN)",
    tag="accounts",
    body=NewUserIn,
    response=NewUserOut,
    status=201,
    errors=(409,),
)
async def create_user(request: Request, body: NewUserIn) -> NewUserOut:
    admin = await auth.require_user(request)
    auth.require_role(admin, "admin")
    user = await accounts.create_password_user(
        username=body.username, display_name=body.display_name, password=body.password, role=body.role
    )
    await audit.record("user.created", actor=admin.id, target=str(user.id), ip=auth.client_ip(request), role=user.role)
    return NewUserOut(id=user.id, username=str(user.username), display_name=user.display_name, role=user.role)


def routes() -> list[BaseRoute]:
    return [join, login, logout, me, ws_token, create_api_token, revoke_api_token, create_user]
