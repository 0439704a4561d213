"""Signing in and out: join with a code, password login, logout, who am I, WebSocket and API tokens; and a
student's lasting identity: their return link and code (and an instructor showing them), signing in with a return
link, an optional password (:mod:`classroom.accounts.identity`).

Sign-ins and joins are rate limited (:mod:`classroom.auth.ratelimit`) and audited (:mod:`classroom.audit`); a present
``Origin`` must be allowed even here, so a foreign page cannot sign a browser into an account (login CSRF).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from classroom import audit
from classroom.accounts import identity
from classroom.accounts import service as accounts
from classroom.accounts.schemas import (
    ApiTokenIn,
    ApiTokenOut,
    ClassBrief,
    JoinIn,
    LoginIn,
    MeOut,
    NewUserIn,
    NewUserOut,
    OkOut,
    PasswordIn,
    ReturnIn,
    ReturnLinkOut,
    SessionOut,
    TokenOut,
    UserOut,
)
from classroom.api import endpoint
from classroom.auth import ratelimit, tokens
from classroom.auth import service as auth
from classroom.auth.access import parse_id
from classroom.auth.passwords import hash_password, needs_rehash, verify_password
from classroom.classes import service as classes
from classroom.errors import BadRequest, ClassroomError, Forbidden, NotFound, Unauthenticated
from classroom.events import publish
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


async def _join_guard(request: Request) -> None:
    """Before the body is read: a foreign Origin is refused and the address's join limit counted."""
    auth.check_origin(auth.settings_of(request), request)
    await ratelimit.check(request, "join", auth.client_ip(request))


@endpoint(
    "POST",
    "/api/join",
    summary="Join a class with its code and a display name; signs the browser in as a new student",
    tag="accounts",
    body=JoinIn,
    response=SessionOut,
    errors=(401, 403, 404, 409, 429),
    auth="none",
    before=_join_guard,
)
async def join(request: Request, body: JoinIn) -> Response:
    ip = auth.client_ip(request)
    current = await _signed_in_or_none(request)
    # A name a student of the class already has is that student: prove it (return code or password) or pick
    # another, instead of a second account of the same name (issue 12).
    klass = await identity.class_of_code(body.join_code)
    if body.return_code or body.password:
        await ratelimit.check(request, "signin", f"claim:{klass.id}:{identity.name_key(body.name)}|{ip}")
    claimed = await identity.claim(
        auth.settings_of(request), klass, body.name, code=body.return_code, password=body.password, current=current
    )
    joined = await classes.join(body.join_code, body.name, claimed or current)
    await audit.record(
        "class.join",
        actor=joined.user.id,
        class_id=joined.klass.id,
        ip=ip,
        room=str(joined.room.id),
        returning=claimed is not None,
    )
    await publish.roster_changed(request, joined.klass.id)
    await publish.rooms_changed(request, [joined.room.id])
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
    return MeOut(
        user=user_out(user),
        classes=[ClassBrief(id=k.id, name=k.name, role=r, archived=bool(k.archived)) for k, r in found],
    )


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


# -- lasting identity (issue 12): return links and codes, student passwords --------------------------------------


def _base(request: Request) -> str:
    public = auth.settings_of(request).public_url
    return (public or str(request.base_url)).rstrip("/")


def link_of(request: Request, user: User) -> ReturnLinkOut:
    settings = auth.settings_of(request)
    # The token travels in the fragment: it never reaches a server log or a Referer header.
    return ReturnLinkOut(
        user_id=user.id,
        display_name=user.display_name,
        link=f"{_base(request)}/#return={identity.return_token(settings, user.id)}",
        code=identity.return_code(settings, user.id),
    )


@endpoint(
    "GET",
    "/api/me/return-link",
    summary="Your personal return link and code (students): open it on another device to be you there",
    tag="accounts",
    response=ReturnLinkOut,
    errors=(403,),
)
async def my_return_link(request: Request) -> ReturnLinkOut:
    user = await auth.require_user(request)
    if user.role != "student":
        raise Forbidden("return links are for students; sign in with your password instead")
    return link_of(request, user)


@endpoint(
    "POST",
    "/api/return",
    summary="Sign in with a return link's token: the same student account, rooms and code as before",
    tag="accounts",
    body=ReturnIn,
    response=SessionOut,
    errors=(401, 403, 429),
    auth="none",
    before=_join_guard,
)
async def use_return_link(request: Request, body: ReturnIn) -> Response:
    settings = auth.settings_of(request)
    ip = auth.client_ip(request)
    user_id = identity.user_of_token(settings, body.token)
    user = await User.objects().where(User.id == user_id).first().run()
    if user is None or user.disabled or user.role != "student":
        raise Unauthenticated("this return link is no longer valid")
    await audit.record("signin.ok", actor=user.id, ip=ip, method="return-link")
    return signed_in(request, user)


@endpoint(
    "GET",
    "/api/classes/{class_id}/students/{user_id}/return-link",
    summary="A student's return link and code, for the instructor to show them (the class's instructors)",
    tag="classes",
    response=ReturnLinkOut,
    errors=(403, 404),
)
async def student_return_link(request: Request) -> ReturnLinkOut:
    user, access = await auth.class_of_request(request, instructor=True)
    student_id = parse_id(request.path_params["user_id"], "student")
    if student_id not in await classes.enrolled_students(access.class_id):
        raise NotFound("no such student in this class")
    student = await User.objects().where(User.id == student_id).first().run()
    if student is None or student.role != "student":
        raise NotFound("no such student in this class")
    await audit.record("identity.return_link_shown", actor=user.id, class_id=access.class_id, target=str(student_id))
    return link_of(request, student)


@endpoint(
    "POST",
    "/api/me/password",
    summary="Set (or change) your password (students): then your name and password also get you back in",
    tag="accounts",
    body=PasswordIn,
    response=OkOut,
    errors=(400, 401, 403),
)
async def set_password(request: Request, body: PasswordIn) -> OkOut:
    user = await auth.require_user(request)
    if user.role != "student":
        raise Forbidden("instructors and admins change their password with the admin commands")
    # The hash as stored now: the account require_user returns may be up to half a second old (auth's cache).
    row = await User.select(User.password_hash).where(User.id == user.id).first().run()
    current = None if row is None else row["password_hash"]
    if current and (not body.current_password or not verify_password(current, body.current_password)):
        raise BadRequest("current_password: give your current password to change it")
    await User.update({User.password_hash: hash_password(body.password)}).where(User.id == user.id).run()
    auth.forget_user(user.id)
    await audit.record("identity.password_set", actor=user.id, ip=auth.client_ip(request))
    return OkOut()


def routes() -> list[BaseRoute]:
    return [
        join,
        login,
        logout,
        me,
        ws_token,
        create_api_token,
        revoke_api_token,
        create_user,
        my_return_link,
        use_return_link,
        student_return_link,
        set_password,
    ]
