"""Who is asking: the one check every HTTP route and WebSocket calls before touching anything.

HTTP (:func:`require_user`) accepts, in this order:

1. ``Authorization: Bearer <token>`` where the token is the ``CLASSROOM_ADMIN_TOKEN`` (acts as the built-in
   ``admin-token`` admin user), a long-lived API token (``cr_...``), or an API JWT (``aud=classroom-api``).
   Bearer requests carry no ambient authority, so they need no CSRF token.
2. The ``classroom_session`` cookie, unless signed out (:mod:`classroom.auth.revocations`). For unsafe methods
   (POST/PUT/PATCH/DELETE) the request must also carry ``X-CSRF-Token`` equal to the ``classroom_csrf`` cookie
   *and* to the value signed into the session, and an ``Origin`` header, when present, must be one of
   ``CLASSROOM_ALLOWED_ORIGINS``.

WebSockets (:func:`websocket_user`) accept ``?token=`` (a short-lived JWT with ``aud=classroom-ws`` from
``POST /api/tokens``) or the session cookie; a present ``Origin`` must be allowed (browsers always send it, so a
foreign page cannot ride the cookie). Disabled users are unauthenticated everywhere.

Errors: :class:`~classroom.errors.Unauthenticated` (401 / close 4401) when no valid credential is present,
:class:`~classroom.errors.Forbidden` (403 / close 4403) for a CSRF or Origin failure.

What every request reads of the account (:func:`load_user`: the user row and, for a student, whether they are in a
class) is kept per process for :data:`USER_CACHE_SECONDS` at most, so a burst of requests and socket frames costs
one read, while disabling an account or removing a student still takes effect within that bound on every replica
— at once where the removal is heard (:func:`classroom.presence.service.close_user` runs on every replica through
:mod:`classroom.presence.fanout`, and forgets the user here). An API token's ``last_used_at`` is written at most
every :data:`TOKEN_TOUCH_SECONDS` per process, not on every request.
"""

from __future__ import annotations

import hmac
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from classroom.auth import ratelimit, revocations, tokens
from classroom.auth.access import ClassAccess, class_access
from classroom.errors import Forbidden, Unauthenticated
from classroom.presence import service as presence
from classroom.settings import Settings
from classroom.tables import ApiToken, Enrollment, User

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMIN_TOKEN_USERNAME = "admin-token"
USER_CACHE_SECONDS = 0.5  # the longest a disabled account or a removed student goes on being let in (any replica)
TOKEN_TOUCH_SECONDS = 60.0
_CACHE_LIMIT = 10_000

_users: dict[uuid.UUID, tuple[float, User]] = {}  # user id -> (valid until, the account as last read)
_touched: dict[str, float] = {}  # API token id -> when this process last wrote its last_used_at


def settings_of(conn: HTTPConnection) -> Settings:
    settings: Settings = conn.app.state.settings
    return settings


def issue_ws_token(settings: Settings, user: User) -> str:
    """A JWT for one WebSocket connection: ``aud=classroom-ws``, valid :data:`tokens.WS_TOKEN_SECONDS`."""
    return tokens.issue_jwt(settings, user.id, tokens.WS_AUDIENCE, tokens.WS_TOKEN_SECONDS)


def issue_api_jwt(settings: Settings, user: User) -> str:
    """A bearer JWT for HTTP API clients: ``aud=classroom-api``, valid :data:`tokens.API_JWT_SECONDS`."""
    return tokens.issue_jwt(settings, user.id, tokens.API_AUDIENCE, tokens.API_JWT_SECONDS)


async def load_user(user_id: uuid.UUID) -> User:
    """The account behind a credential, read again at most :data:`USER_CACHE_SECONDS` after the last read, so that
    disabling it, or removing a student from their last class, takes effect within that bound on every replica
    (the database is the one truth; see the module docstring). Only valid accounts are kept: a refusal is never
    cached, so a student who joins a class again gets in at once."""
    now = time.monotonic()
    cached = _users.get(user_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    user = await User.objects().where(User.id == user_id).first().run()
    if user is None or user.disabled:
        raise Unauthenticated("this account no longer exists or is disabled")
    if user.role == "student" and not await _in_a_class(user.id):
        # A student exists through their classes: removed from the last one, their cookie, socket tokens and API
        # tokens stop working; joining a class with its code is all that is left to them.
        raise Unauthenticated("you are not a member of any class any more: join one with its code")
    if len(_users) >= _CACHE_LIMIT:
        for key in [k for k, (until, _) in _users.items() if until <= now]:
            del _users[key]
        if len(_users) >= _CACHE_LIMIT:
            _users.clear()
    _users[user_id] = (now + USER_CACHE_SECONDS, user)  # from before the read: never older than the bound
    return user


def forget_user(user_id: uuid.UUID) -> None:
    """Read the account again on its next request (it was disabled, removed from a class, or changed)."""
    _users.pop(uuid.UUID(str(user_id)), None)


presence.on_removal(forget_user)


async def _in_a_class(user_id: uuid.UUID) -> bool:
    found: bool = await Enrollment.exists().where((Enrollment.user == user_id) & Enrollment.removed_at.is_null()).run()
    return found


async def admin_token_user() -> User:
    """The persisted admin that ``CLASSROOM_ADMIN_TOKEN`` acts as (so audit rows and owners have a real id)."""
    user = await User.objects().where(User.username == ADMIN_TOKEN_USERNAME).first().run()
    if user is not None:
        return user
    try:
        user = User(
            id=uuid.uuid4(),
            username=ADMIN_TOKEN_USERNAME,
            display_name="Admin (token)",
            role="admin",
            created_at=datetime.now(UTC),
        )
        await user.save().run()
        return user
    except Exception:  # two first requests raced on the unique username: the other one created it
        found = await User.objects().where(User.username == ADMIN_TOKEN_USERNAME).first().run()
        if found is None:
            raise
        return found


async def _bearer_user(settings: Settings, token: str) -> User:
    if settings.admin_token and hmac.compare_digest(token.encode(), settings.admin_token.encode()):
        return await admin_token_user()
    if token.startswith(tokens.API_TOKEN_PREFIX):
        row = (
            await ApiToken.objects()
            .where((ApiToken.token_hash == tokens.hash_api_token(token)) & ApiToken.revoked.eq(False))
            .first()
            .run()
        )
        if row is None:
            raise Unauthenticated("unknown or revoked API token")
        now = time.monotonic()
        if now - _touched.get(str(row.id), -TOKEN_TOUCH_SECONDS) >= TOKEN_TOUCH_SECONDS:
            # A write per request would cost more than the request; "last used" to the minute is what it is for.
            _touched[str(row.id)] = now
            if len(_touched) >= _CACHE_LIMIT:
                _touched.clear()
            await ApiToken.update({ApiToken.last_used_at: datetime.now(UTC)}).where(ApiToken.id == row.id).run()
        return await load_user(row.user)
    if tokens.looks_like_jwt(token):
        return await load_user(tokens.decode_jwt(settings, token, tokens.API_AUDIENCE))
    raise Unauthenticated("the bearer token is not an API token or JWT of this server")


async def token_user(conn: HTTPConnection, token: str) -> User:
    """The user of an API credential given outside ``Authorization`` (a header such as Judge0's
    ``X-Auth-Token``, or a URL path segment): the admin token, an API token or an API JWT, as for Bearer."""
    if not token.strip():
        raise Unauthenticated("an empty token")
    return await _bearer_user(settings_of(conn), token.strip())


async def _live_session(conn: HTTPConnection, cookie: str) -> tokens.Session:
    """The verified session of a cookie, unless it was signed out (``app.state.revocations``)."""
    session = tokens.read_session(settings_of(conn), cookie)
    revocations = getattr(conn.app.state, "revocations", None)
    if revocations is not None and await revocations.is_revoked(session.csrf):
        raise Unauthenticated("this session was signed out; sign in again")
    return session


async def revoke_session(conn: HTTPConnection) -> None:
    """Sign out the request's session cookie server-side (until it would have expired); no cookie, no-op."""
    cookie = conn.cookies.get(tokens.SESSION_COOKIE)
    revocations = getattr(conn.app.state, "revocations", None)
    if not cookie or revocations is None:
        return
    try:
        session = tokens.read_session(settings_of(conn), cookie)
    except Unauthenticated:
        return
    await revocations.revoke(session.csrf, session.remaining_seconds)


def check_origin(settings: Settings, conn: HTTPConnection) -> None:
    """A present ``Origin`` must be allowed; an absent one is a non-browser client (no ambient cookie risk)."""
    origin = conn.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in settings.allowed_origins:
        raise Forbidden(f"origin {origin!r} is not allowed (see CLASSROOM_ALLOWED_ORIGINS)")


def check_csrf(conn: HTTPConnection, session: tokens.Session) -> None:
    header = conn.headers.get(tokens.CSRF_HEADER, "")
    cookie = conn.cookies.get(tokens.CSRF_COOKIE, "")
    if not header:
        raise Forbidden("missing X-CSRF-Token header: echo the classroom_csrf cookie on state-changing requests")
    if not (hmac.compare_digest(header, cookie) and hmac.compare_digest(header, session.csrf)):
        raise Forbidden("X-CSRF-Token does not match this session's classroom_csrf cookie")


async def require_user(request: Request) -> User:
    """The signed-in user of an HTTP request; see the module docstring for the accepted credentials."""
    settings = settings_of(request)
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("expected 'Authorization: Bearer <token>'")
        return await _bearer_user(settings, token.strip())
    cookie = request.cookies.get(tokens.SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated("sign in first (no session cookie or bearer token)")
    session = await _live_session(request, cookie)
    if request.method in UNSAFE_METHODS:
        check_origin(settings, request)
        check_csrf(request, session)
    return await load_user(session.user_id)


async def optional_user(request: Request) -> User | None:
    """The signed-in user, or None for an anonymous request (bad credentials still raise)."""
    if request.headers.get("authorization") is None and not request.cookies.get(tokens.SESSION_COOKIE):
        return None
    return await require_user(request)


async def websocket_user(websocket: WebSocket) -> User:
    """The user of a WebSocket handshake (call before ``accept``); see the module docstring."""
    settings = settings_of(websocket)
    check_origin(settings, websocket)
    token = websocket.query_params.get("token")
    if token:
        return await load_user(tokens.decode_jwt(settings, token, tokens.WS_AUDIENCE))
    cookie = websocket.cookies.get(tokens.SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated("sign in first: pass ?token= from POST /api/tokens or the session cookie")
    return await load_user((await _live_session(websocket, cookie)).user_id)


def require_role(user: User, *roles: str) -> None:
    """Forbidden unless the user's global role is one of ``roles`` (admins always pass)."""
    if user.role != "admin" and user.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role")


def start_session(response: Response, settings: Settings, user: User) -> None:
    """Set the session cookie (HttpOnly) and the CSRF cookie (readable by the page's script)."""
    value, csrf = tokens.new_session(settings, user.id)
    common = {"max_age": tokens.SESSION_MAX_AGE, "path": "/", "samesite": "lax", "secure": settings.secure_cookies}
    response.set_cookie(tokens.SESSION_COOKIE, value, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(tokens.CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]


def end_session(response: Response, settings: Settings) -> None:
    for name in (tokens.SESSION_COOKIE, tokens.CSRF_COOKIE):
        response.delete_cookie(name, path="/", samesite="lax", secure=settings.secure_cookies)


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


async def class_of_request(request: Request, *, instructor: bool = False) -> tuple[User, ClassAccess]:
    """The signed-in user and their access to the class named by the path's ``class_id``.

    Raises like :func:`require_user` and :func:`~classroom.auth.access.class_access`; with ``instructor``, also
    :class:`Forbidden` unless they teach it.
    """
    user = await require_user(request)
    access = await class_access(user, request.path_params["class_id"])
    if instructor:
        access.require_instructor()
    return user, access


def install(app: Starlette, settings: Settings, redis: Any | None) -> None:
    """Set ``app.state.rate_limiter`` and ``app.state.revocations``: shared by replicas through ``redis`` (a
    client) when configured, in memory otherwise."""
    app.state.rate_limiter = ratelimit.build(settings, redis)
    app.state.revocations = revocations.build(redis)
