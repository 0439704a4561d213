"""JWTs: what is issued, and the attacks that must be rejected (alg none, HS/RS confusion, expiry, audience,
tampering), on both HTTP (``aud=classroom-api``) and WebSockets (``aud=classroom-ws``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
import warnings

import httpx
import pytest
from authz_world import World
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from classroom.auth import tokens
from classroom.errors import Unauthenticated
from classroom.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebToken


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(user_id: uuid.UUID, audience: str = tokens.API_AUDIENCE, **over: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {"iss": "classroom", "sub": str(user_id), "aud": audience, "iat": now, "exp": now + 60}
    base.update(over)
    return base


def hs256(settings: Settings, payload: dict[str, object], key: str | None = None) -> str:
    token: bytes = JsonWebToken(["HS256"]).encode({"alg": "HS256"}, payload, key or settings.secret_key)
    return token.decode()


def hmac_signed(header: dict[str, object], payload: dict[str, object], key: bytes) -> str:
    """A JWT signed by hand (authlib itself refuses PEM material as an HMAC key)."""
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return signing_input + "." + b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


def attacks(settings: Settings, user_id: uuid.UUID, audience: str) -> dict[str, str]:
    """Each forged token by the name of the attack."""
    good = claims(user_id, audience)
    unsigned = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + b64(json.dumps(good).encode()) + "."
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    rs256: bytes = JsonWebToken(["RS256"]).encode({"alg": "RS256"}, good, pem)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # HS/RS confusion: HMAC with the (public) RSA key as the secret, as if the server verified with it.
    confused = hmac_signed({"alg": "HS256", "typ": "JWT"}, good, public_pem)
    valid = hs256(settings, good)
    header, _payload, signature = valid.split(".")
    other_user = b64(json.dumps(claims(uuid.uuid4(), audience)).encode())
    wrong_audience = tokens.API_AUDIENCE if audience == tokens.WS_AUDIENCE else tokens.WS_AUDIENCE
    return {
        "alg none": unsigned,
        "alg none, signature kept": unsigned + signature,
        "RS256 with a foreign key": rs256.decode(),
        "HS256 keyed with an RSA public key": confused,
        "expired": hs256(settings, claims(user_id, audience, exp=int(time.time()) - 60, iat=int(time.time()) - 120)),
        "no exp": hs256(settings, {k: v for k, v in good.items() if k != "exp"}),
        "wrong audience": hs256(settings, claims(user_id, wrong_audience)),
        "no audience": hs256(settings, {k: v for k, v in good.items() if k != "aud"}),
        "wrong issuer": hs256(settings, claims(user_id, audience, iss="someone-else")),
        "tampered payload": f"{header}.{other_user}.{signature}",
        "another server's key": hs256(settings, good, key="x" * 48),
        "garbage": "a.b.c",
    }


@pytest.mark.parametrize("audience", [tokens.API_AUDIENCE, tokens.WS_AUDIENCE])
def test_decode_rejects_attacks(settings: Settings, audience: str) -> None:
    user_id = uuid.uuid4()
    assert tokens.decode_jwt(settings, hs256(settings, claims(user_id, audience)), audience) == user_id
    for name, token in attacks(settings, user_id, audience).items():
        with pytest.raises(Unauthenticated):
            tokens.decode_jwt(settings, token, audience)
            pytest.fail(f"accepted: {name}")


@pytest.mark.anyio
async def test_http_rejects_attacks(client: httpx.AsyncClient, world: World) -> None:
    user = world.users["student_a"]
    settings = world.settings
    ok = await client.get("/api/me", headers={"Authorization": f"Bearer {hs256(settings, claims(user.id))}"})
    assert ok.status_code == 200
    for name, token in attacks(settings, user.id, tokens.API_AUDIENCE).items():
        response = await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json()["error"] == "unauthenticated"


@pytest.mark.anyio
async def test_ws_token_is_not_an_api_token(client: httpx.AsyncClient, world: World) -> None:
    """The short-lived WebSocket token travels in URLs; it must not work as an HTTP bearer token."""
    ws_token = world.ws_token("student_a")
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {ws_token}"})
    assert response.status_code == 401


@pytest.mark.anyio
async def test_issued_ws_token(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/tokens", headers=world.headers("student_b"))
    body = response.json()
    assert body["expires_in"] == tokens.WS_TOKEN_SECONDS <= 300
    assert tokens.decode_jwt(world.settings, body["token"], tokens.WS_AUDIENCE) == world.users["student_b"].id
