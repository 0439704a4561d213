"""Sign-in with OpenID Connect (authlib's Starlette client): a generic provider by discovery URL, or a preset.

``CLASSROOM_OIDC_DISCOVERY_URL`` is a discovery URL (``https://idp/.well-known/openid-configuration``) or a preset
name: ``google`` (OIDC) or ``github`` (OAuth 2 + the user API, GitHub has no OIDC for apps). With the client id
and secret set, ``GET /auth/oidc/login`` redirects to the provider and ``GET /auth/oidc/callback`` finishes:

- authlib checks ``state`` (kept in a signed, 10-minute, HttpOnly ``classroom_oidc`` cookie instead of a server
  session) and the id_token's signature (provider JWKS), ``iss``, ``aud``, ``exp`` and ``nonce``;
- a known ``(issuer, subject)`` signs in that user; a signed-in user who started with ``?link=1&csrf=...``
  links the identity to their account (how a student links one); an unknown identity with a verified email
  that matches a password instructor links to them; any other identity becomes a new instructor account only
  when ``CLASSROOM_OIDC_INSTRUCTORS`` admits its verified email (an address, its @domain, or ``*``). Anyone else
  gets a page saying so: with the public Google or GitHub presets, "anyone with an account" must not be staff.
"""

from __future__ import annotations

import hmac
import html
import uuid
import warnings
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import authlib.deprecate  # noqa: F401  (installs the "always" filter that the next block overrides)
import httpx
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from classroom import audit
from classroom.accounts.schemas import AuthConfigOut
from classroom.api import endpoint
from classroom.auth import service as auth
from classroom.auth import tokens
from classroom.errors import BadRequest, Forbidden, NotFound, Unauthenticated, Unavailable
from classroom.settings import Settings
from classroom.tables import User

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.starlette_client import OAuth, OAuthError

STATE_COOKIE = "classroom_oidc"
STATE_SECONDS = 600
PRESETS: dict[str, dict[str, Any]] = {
    "google": {"server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"},
    "github": {
        "api_base_url": "https://api.github.com/",
        "access_token_url": "https://github.com/login/oauth/access_token",
        "authorize_url": "https://github.com/login/oauth/authorize",
        "client_kwargs": {"scope": "read:user user:email"},
        "issuer": "https://github.com",
    },
}


def build_client(settings: Settings) -> Any | None:
    """The registered authlib client named ``idp``, or None when OIDC is not configured."""
    if not (settings.oidc_discovery_url and settings.oidc_client_id):
        return None
    preset = dict(PRESETS.get(settings.oidc_discovery_url.lower(), {}))
    preset.pop("issuer", None)
    if not preset:
        preset = {"server_metadata_url": settings.oidc_discovery_url}
    preset.setdefault("client_kwargs", {"scope": "openid email profile"})
    oauth = OAuth()
    return oauth.register("idp", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret, **preset)


def _client(request: Request) -> Any:
    client = getattr(request.app.state, "oidc", None)
    if client is None:
        raise NotFound("OIDC sign-in is not configured on this server")
    return client


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="classroom-oidc")


def _local_path(value: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _redirect_uri(request: Request, settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/auth/oidc/callback"
    return str(request.url_for("oidc_callback"))


@endpoint(
    "GET",
    "/api/auth/config",
    summary="Which sign-in methods this server offers",
    tag="accounts",
    response=AuthConfigOut,
    auth="none",
)
async def auth_config(request: Request) -> AuthConfigOut:
    settings = auth.settings_of(request)
    if getattr(request.app.state, "oidc", None) is None:
        return AuthConfigOut(oidc=False, oidc_name=None)
    url = settings.oidc_discovery_url
    name = {"google": "Google", "github": "GitHub"}.get(url.lower()) or urlsplit(url).hostname or url
    return AuthConfigOut(oidc=True, oidc_name=name)


async def _linking_user(request: Request, settings: Settings) -> User:
    """The browser-session user asking to link, proven by ``?csrf=`` (their classroom_csrf value).

    Linking is a state change started by a GET navigation, so it needs the CSRF value like a POST: otherwise a
    foreign page could link an identity of the attacker's choosing to the victim's account.
    """
    cookie = request.cookies.get(tokens.SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated("sign in with the browser first, then link an identity")
    session = tokens.read_session(settings, cookie)
    given = request.query_params.get("csrf", "")
    if not given or not hmac.compare_digest(given, session.csrf):
        raise Forbidden("linking needs ?csrf= with this session's classroom_csrf value")
    return await auth.load_user(session.user_id)


@endpoint(
    "GET",
    "/auth/oidc/login",
    summary="Start OIDC sign-in (redirects to the provider); ?link=1 links the identity to the signed-in user",
    tag="accounts",
    status=302,
    errors=(401, 403, 404),
    auth="none",
    query=(
        ("next", "local path to return to", False),
        ("link", "1 to link the identity to the signed-in account (needs csrf)", False),
        ("csrf", "the classroom_csrf cookie's value, when linking", False),
    ),
)
async def oidc_login(request: Request) -> Response:
    client = _client(request)
    settings = auth.settings_of(request)
    link_user = None
    if request.query_params.get("link") == "1":
        link_user = str((await _linking_user(request, settings)).id)
    request.scope["session"] = {}
    response: Response = await client.authorize_redirect(request, _redirect_uri(request, settings))
    state = {"s": request.scope["session"], "next": _local_path(request.query_params.get("next")), "link": link_user}
    response.set_cookie(
        STATE_COOKIE,
        _serializer(settings).dumps(state),
        max_age=STATE_SECONDS,
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET, which Lax allows
        secure=settings.secure_cookies,
        path="/auth/oidc",
    )
    return response


async def _identity(request: Request, client: Any, settings: Settings) -> tuple[str, dict[str, Any]]:
    """``(issuer, claims)`` after authlib's checks of state, token, signature and nonce."""
    try:
        token = await client.authorize_access_token(request)
        if settings.oidc_discovery_url.lower() == "github":
            profile = (await client.get("user", token=token)).json()
            return "https://github.com", {"sub": str(profile["id"]), "name": profile.get("name") or profile["login"]}
        userinfo = token.get("userinfo")
        if not userinfo:
            raise Unauthenticated("the identity provider returned no id_token")
        metadata = await client.load_server_metadata()
        return str(metadata.get("issuer", "")), dict(userinfo)
    except (OAuthError, KeyError, ValueError) as exc:
        raise Unauthenticated(f"OIDC sign-in failed: {exc}") from None
    except httpx.HTTPError as exc:  # the provider is down or answered an error status
        raise Unavailable(f"the identity provider did not answer properly: {exc}") from None
    except Exception as exc:  # joserfc's errors (bad signature, nonce, iss, aud, exp) share no authlib base
        if type(exc).__module__.startswith(("joserfc", "authlib")):
            raise Unauthenticated(f"OIDC sign-in failed: {type(exc).__name__}: {exc}") from None
        raise


def may_become_instructor(settings: Settings, email: str | None) -> bool:
    """Whether a new identity with this verified ``email`` (None: unverified or absent) may become an instructor."""
    allowed = settings.oidc_instructors
    if "*" in allowed:
        return True
    if not email:
        return False
    email = email.strip().lower()
    return email in allowed or "@" + email.rpartition("@")[2] in allowed


NOT_ADMITTED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Not an instructor here</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}</style>
</head><body><h1>This account is not an instructor here</h1>
<p>You signed in as <b>{who}</b>, which this server does not know as an instructor.</p>
<p>Students: open <a href="/join">the join page</a> and enter your class's code.
Teachers: ask the server's administrator to add your address to the instructors.</p></body></html>"""


class NotAdmitted(Exception):
    """An identity the provider vouched for, but that this server does not admit as an instructor."""

    def __init__(self, who: str) -> None:
        super().__init__(who)
        self.who = who


async def _account(settings: Settings, issuer: str, claims: dict[str, Any], link_user: str | None) -> tuple[User, str]:
    subject = str(claims["sub"])
    known = await User.objects().where((User.oidc_issuer == issuer) & (User.oidc_subject == subject)).first().run()
    if link_user is not None:
        if known is not None and str(known.id) != link_user:
            raise BadRequest("this identity is already linked to another account")
        await (
            User.update({User.oidc_issuer: issuer, User.oidc_subject: subject})
            .where(User.id == uuid.UUID(link_user))
            .run()
        )
        auth.forget_user(uuid.UUID(link_user))  # read the row as it is now, not as this process last kept it
        return await auth.load_user(uuid.UUID(link_user)), "linked"
    if known is not None:
        return known, "known"
    email = claims.get("email") if claims.get("email_verified") is True else None
    if email:
        match = (
            await User.objects()
            .where((User.email == email) & User.oidc_subject.is_null() & User.role.is_in(["instructor", "admin"]))
            .first()
            .run()
        )
        if match is not None:
            await User.update({User.oidc_issuer: issuer, User.oidc_subject: subject}).where(User.id == match.id).run()
            auth.forget_user(match.id)
            return await auth.load_user(match.id), "linked_by_email"
    name = str(claims.get("name") or claims.get("preferred_username") or email or "Instructor")[:80]
    if not may_become_instructor(settings, email):
        raise NotAdmitted(email or name)
    user = User(
        id=uuid.uuid4(),
        role="instructor",
        display_name=name,
        email=email,
        oidc_issuer=issuer,
        oidc_subject=subject,
        created_at=datetime.now(UTC),
    )
    await user.save().run()
    return user, "created"


@endpoint(
    "GET",
    "/auth/oidc/callback",
    summary="Finish OIDC sign-in (the provider redirects here); sets the session cookie",
    tag="accounts",
    status=302,
    errors=(400, 401, 403, 404, 503),
    auth="none",
    query=(("code", "authorization code", False), ("state", "state from the login redirect", False)),
)
async def oidc_callback(request: Request) -> Response:
    client = _client(request)
    settings = auth.settings_of(request)
    try:
        state = _serializer(settings).loads(request.cookies.get(STATE_COOKIE, ""), max_age=STATE_SECONDS)
        request.scope["session"] = dict(state["s"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise Unauthenticated("OIDC sign-in expired or was started elsewhere; start again") from None
    issuer, claims = await _identity(request, client, settings)
    try:
        user, how = await _account(settings, issuer, claims, state.get("link"))
    except NotAdmitted as refused:
        await audit.record("signin.refused", ip=auth.client_ip(request), method="oidc", who=refused.who)
        page = NOT_ADMITTED_PAGE.format(who=html.escape(refused.who))
        response: Response = HTMLResponse(page, status_code=403)
        response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
        return response
    if user.disabled:
        raise Unauthenticated("this account is disabled")
    await audit.record("signin.ok", actor=user.id, ip=auth.client_ip(request), method="oidc", how=how)
    response = RedirectResponse(_local_path(state.get("next")), status_code=302)
    response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
    auth.start_session(response, settings, user)
    return response


def routes() -> list[BaseRoute]:
    return [auth_config, oidc_login, oidc_callback]


def install(app: Starlette, settings: Settings) -> None:
    """Set ``app.state.oidc``: the provider's client, or None when OIDC is not configured."""
    app.state.oidc = build_client(settings)
