"""A tiny OpenID Connect provider for tests, built from authlib's server components (the authorization-code
grant with the OpenID extension), served by uvicorn on a loopback port.

It signs in :attr:`TestIdP.user` without a login page (the test is the user agent), issues RS256 id_tokens with a
JWKS, and can misbehave on request (:attr:`TestIdP.nonce_override`, :attr:`TestIdP.foreign_key`) so the relying
party's checks can be exercised.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from authlib.oauth2 import OAuth2Request
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class IdPRequest(OAuth2Request):  # type: ignore[misc]
    """authlib's request with the query (``args``) and form the grants read."""

    def __init__(self, method: str, uri: str, headers: Any, args: dict[str, str], form: dict[str, str]):
        super().__init__(method, uri, headers=headers)
        self._args, self._form = args, form
        self.payload = BasicOAuth2Payload({**args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "email", "profile"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    user: dict[str, Any]
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        idp: TestIdP = self.server.idp
        data = request.payload.data
        idp.codes[code] = Code(
            code,
            request.client.client_id,
            data.get("redirect_uri"),
            data.get("scope", ""),
            data.get("nonce"),
            request.user,
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self.server.idp.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.idp.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> dict[str, Any]:
        return authorization_code.user


class IdToken(OpenIDCode):  # type: ignore[misc]
    def __init__(self, idp: TestIdP) -> None:
        super().__init__(require_nonce=True)
        self.idp = idp

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.idp.foreign_key if self.idp.sign_with_foreign_key else self.idp.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": "test-key"}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.idp.issuer, "aud": [self.idp.audience_override or client.client_id]}

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return any(c.nonce == nonce for c in self.idp.codes.values())

    def generate_user_info(self, user: dict[str, Any], scope: str) -> UserInfo:
        info = UserInfo(user)
        if self.idp.nonce_override is not None:
            info["nonce"] = self.idp.nonce_override
        return info


class Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, idp: TestIdP) -> None:
        super().__init__(scopes_supported=["openid", "email", "profile"])
        self.idp = idp
        self.register_token_generator("default", BearerTokenGenerator(lambda *a, **k: secrets.token_urlsafe(24)))
        self.register_grant(CodeGrant, [IdToken(idp)])

    def query_client(self, client_id: str) -> Client | None:
        return self.idp.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.idp.tokens[token["access_token"]] = request.user

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=dict(headers))
        return Response(body or b"", status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


class TestIdP:
    """The provider: one client, one signed-in user, and knobs to make it misbehave."""

    __test__ = False  # not a test class despite the name

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.foreign_key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Any] = {}
        self.user: dict[str, Any] = {
            "sub": "alice-123",
            "name": "Alice Teacher",
            "email": "alice@school.example",
            "email_verified": True,
        }
        self.nonce_override: str | None = None
        self.sign_with_foreign_key = False
        self.audience_override: str | None = None
        self.server = Server(self)
        self.port = 0
        self._uvicorn: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def add_client(self, client_id: str, secret: str, redirect_uri: str) -> None:
        self.clients[client_id] = Client(client_id, secret, [redirect_uri])

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def jwks(request: Request) -> Response:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        async def authorize(request: Request) -> Response:
            query = dict(request.query_params)
            oauth_request = IdPRequest("GET", str(request.url), request.headers, query, {})
            response: Response = self.server.create_authorization_response(oauth_request, grant_user=dict(self.user))
            return response

        async def token(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            oauth_request = IdPRequest("POST", str(request.url), request.headers, {}, form)
            response: Response = self.server.create_token_response(oauth_request)
            return response

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
            ]
        )

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._uvicorn = uvicorn.Server(uvicorn.Config(self.app(), lifespan="off", log_level="warning"))
        self._task = asyncio.create_task(self._uvicorn.serve(sockets=[sock]))
        while not self._uvicorn.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._uvicorn is not None and self._task is not None:
            self._uvicorn.should_exit = True
            await self._task
