"""The three kinds of credential the server issues, and how each is checked. No HTTP knowledge here.

- **Session cookie** (browser): an itsdangerous-signed, timestamped ``{"u": user_id, "c": csrf}`` payload. The
  CSRF value inside it is also set as the readable ``classroom_csrf`` cookie, so a state-changing request must
  echo it in ``X-CSRF-Token`` (double submit, bound to the signed session so a planted cookie does not help).
- **JWT** (WebSockets and API clients): HS256 with the server's secret key via ``authlib.jose``. Decoding allows
  only HS256 (so ``alg: none`` and HS/RS confusion are rejected) and requires ``exp``, ``iat``, ``sub`` and the
  expected ``aud``.
- **API token** (scripts): ``cr_`` + 43 random characters; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import authlib.deprecate  # noqa: F401  (it installs an "always" filter that must precede ours)
from itsdangerous import BadSignature, URLSafeTimedSerializer

from classroom.errors import Unauthenticated
from classroom.settings import Settings

with warnings.catch_warnings():
    # authlib.jose is what the issue names; its deprecation notice points at joserfc for authlib 2.0.
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebToken
    from authlib.jose.errors import JoseError

SESSION_COOKIE = "classroom_session"
CSRF_COOKIE = "classroom_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_MAX_AGE = 14 * 24 * 3600

WS_AUDIENCE = "classroom-ws"
API_AUDIENCE = "classroom-api"
WS_TOKEN_SECONDS = 300
API_JWT_SECONDS = 12 * 3600
ISSUER = "classroom"

API_TOKEN_PREFIX = "cr_"

_jwt = JsonWebToken(["HS256"])  # the allowlist: nothing else is ever accepted


@dataclass(frozen=True)
class Session:
    """A verified session cookie: whose it is, the CSRF value bound to it (which is also the session's id for
    sign-out, see :mod:`classroom.auth.revocations`) and when it was issued."""

    user_id: uuid.UUID
    csrf: str
    issued_at: float = 0.0

    @property
    def remaining_seconds(self) -> int:
        return max(1, int(self.issued_at + SESSION_MAX_AGE - time.time()) + 1)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="classroom-session")


def new_session(settings: Settings, user_id: uuid.UUID) -> tuple[str, str]:
    """A fresh ``(session cookie value, csrf value)`` for ``user_id``."""
    csrf = secrets.token_urlsafe(24)
    return _serializer(settings).dumps({"u": str(user_id), "c": csrf}), csrf


def read_session(settings: Settings, value: str) -> Session:
    """The session in a cookie value; :class:`Unauthenticated` when forged, malformed or older than 14 days."""
    try:
        data, issued = _serializer(settings).loads(value, max_age=SESSION_MAX_AGE, return_timestamp=True)
        return Session(uuid.UUID(str(data["u"])), str(data["c"]), issued.timestamp())
    except (BadSignature, KeyError, TypeError, ValueError):
        raise Unauthenticated("the session cookie is invalid or expired; sign in again") from None


def issue_jwt(settings: Settings, user_id: uuid.UUID, audience: str, seconds: int) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": str(user_id), "aud": audience, "iat": now, "exp": now + seconds}
    token: bytes = _jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, settings.secret_key)
    return token.decode()


def decode_jwt(settings: Settings, token: str, audience: str) -> uuid.UUID:
    """The user id of a valid token for ``audience``; :class:`Unauthenticated` with the reason otherwise."""
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": ISSUER},
        "sub": {"essential": True},
        "aud": {"essential": True, "value": audience},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    try:
        claims = _jwt.decode(token, settings.secret_key, claims_options=options)
        claims.validate(leeway=5)
        return uuid.UUID(str(claims["sub"]))
    except JoseError as exc:
        raise Unauthenticated(f"token rejected: {exc.error}") from None
    except (ValueError, TypeError, KeyError):
        raise Unauthenticated("token rejected: malformed") from None


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def new_api_token() -> tuple[str, str]:
    """A fresh ``(token, sha256 hex)``; show the token once, store only the hash."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
