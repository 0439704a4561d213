"""Typed JSON endpoints: one decorator that validates input, serialises output and records the OpenAPI facts.

Every HTTP API route is declared with :func:`endpoint`. The request body (if any) is parsed into a pydantic
model; a bad body is a :class:`~classroom.errors.BadRequest` naming the field and the problem. The handler
returns a pydantic model (serialised with the declared status) or a ready Response. The same declaration feeds
:mod:`classroom.openapi`, so the schema cannot drift from the code.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from classroom.errors import BadRequest, PayloadTooLarge

MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 32  # the deepest body we declare is 3 levels; far below the parser's own recursion limit

Handler = Callable[..., Awaitable[Any]]

# Text a person typed: no control characters and no lone surrogates (which no database can store), and at
# least one visible character. Declared in the schema so that clients (and schemathesis) know the rule.
_BAD = r"\x00-\x1f\x7f-\x9f\ud800-\udfff"
NAME_PATTERN = rf"^[^{_BAD}]*[^\s{_BAD}][^{_BAD}]*$"
SECRET_PATTERN = r"^[^\x00\ud800-\udfff]+$"


class Body(BaseModel):
    # A request body: unknown fields are refused. (A comment, not a docstring: pydantic would publish it.)
    # The Python engine: the Rust one cannot express the surrogate range of the patterns above.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


@dataclass(frozen=True)
class Endpoint:
    """What the OpenAPI generator and the authorization matrix know about one HTTP route."""

    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    auth: str  # "none", "session" (cookie or bearer), "admin" ...: a hint for the docs, not the check itself
    query: tuple[tuple[str, str, bool], ...] = field(default=())  # (name, description, required)
    doc_body: type[BaseModel] | None = None  # a body the handler parses itself (documented, not validated here)
    error_bodies: tuple[tuple[int, type[BaseModel]], ...] = ()  # error statuses whose body is not our Error


ENDPOINTS: list[Endpoint] = []  # every declaration, in the order the modules declared them
DECLARED: dict[tuple[str, str], Endpoint] = {}  # (method, path) -> its declaration, for the OpenAPI document


def validation_message(exc: ValidationError) -> str:
    """One readable line per problem: ``field.path: message``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


async def read_json(request: Request) -> Any:
    """The request's JSON body, or a precise 400/413."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_JSON_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_JSON_BYTES} bytes")
    ctype = request.headers.get("content-type", "")
    if raw and "json" not in ctype:
        raise BadRequest("expected Content-Type: application/json")
    if not raw:
        raise BadRequest("expected a JSON object body")
    return parse_json(raw, "body")


class _Malformed(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which of two equal keys wins; a body that means different things to different readers
    # is refused instead.
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Malformed(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Malformed(f"the number {text[:20]}… does not fit a double")
    return value


def _no_constants(name: str) -> Any:
    raise _Malformed(f"{name} is not JSON")


def parse_json(raw: bytes | str, what: str = "message") -> Any:
    """Strict JSON for every body and WebSocket text frame: UTF-8, no duplicate keys, no NaN/Infinity, finite
    numbers of at most 4300 digits (Python's own bound), nested at most :data:`MAX_JSON_DEPTH` deep. Anything
    else is a :class:`BadRequest` with a short reason (400 over HTTP, 4400 on a socket), never a 500."""
    try:
        data = json.loads(raw, object_pairs_hook=_no_duplicate_keys, parse_float=_finite, parse_constant=_no_constants)
    except RecursionError:
        raise BadRequest(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except _Malformed as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid UTF-8") from None
    except ValueError as exc:  # JSONDecodeError, or an integer longer than Python converts
        raise BadRequest(f"{what} is not valid JSON: {str(exc)[:120]}") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise BadRequest(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def _depth(data: Any) -> int:
    """How deep arrays and objects nest in ``data`` (iterative: the input may be as deep as the parser allowed)."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def parse_model(model: type[BaseModel], data: Any) -> BaseModel:
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from None


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    auth: str = "session",
    query: tuple[tuple[str, str, bool], ...] = (),
    before: Callable[[Request], Awaitable[None]] | None = None,
    doc_body: type[BaseModel] | None = None,
    error_bodies: tuple[tuple[int, type[BaseModel]], ...] = (),
) -> Callable[[Handler], Route]:
    """Declare a JSON route. The handler is ``async (request[, body]) -> BaseModel | Response``.

    ``before(request)`` runs ahead of reading the body: the checks that need no body (sign-in, rate limits per
    address or user) refuse a request before it costs a parse.

    ``doc_body`` documents a request body the handler reads itself: APIs that speak another server's protocol
    (Judge0, Piston) answer bad input in that protocol's error shape, not ours; ``error_bodies`` documents the
    statuses whose body is not our ``{error, detail}``. ``auth="token"`` marks a route that takes API tokens
    only (never the session cookie, so it needs no CSRF token).
    """

    def wrap(handler: Handler) -> Route:
        async def run(request: Request) -> Response:
            if before is not None:
                await before(request)
            if body is not None:
                parsed = parse_model(body, await read_json(request))
                result = await handler(request, parsed)
            else:
                result = await handler(request)
            if isinstance(result, Response):
                return result
            if isinstance(result, BaseModel):
                return JSONResponse(result.model_dump(mode="json"), status_code=status)
            return JSONResponse(result, status_code=status)

        run.__doc__ = summary
        run.__name__ = handler.__name__
        declared = Endpoint(
            method, path, summary, tag, body, response, status, errors, auth, query, doc_body, error_bodies
        )
        ENDPOINTS.append(declared)
        DECLARED[(method, path)] = declared
        return Route(path, run, methods=[method])

    return wrap


def merge_methods(routes: list[BaseRoute]) -> list[BaseRoute]:
    """One Route per path: the handlers declared for the same path under different methods are joined.

    Starlette answers 405 from the first route whose path matches; joined, its ``Allow`` header lists every
    method of the path instead of one. Order is kept (a path stands where it first appeared).
    """
    by_path: dict[str, dict[str, Route]] = {}
    merged: list[BaseRoute] = []
    for route in routes:
        if isinstance(route, Route) and route.methods and type(route) is Route:
            if route.path not in by_path:
                by_path[route.path] = {}
                merged.append(route)  # placeholder, replaced below
            for method in route.methods:
                by_path[route.path][method] = route
        else:
            merged.append(route)
    for index, route in enumerate(merged):
        if isinstance(route, Route) and route.path in by_path:
            handlers = by_path[route.path]
            if len({id(r) for r in handlers.values()}) > 1:
                merged[index] = _joined(route.path, handlers)
    return merged


def _joined(path: str, handlers: dict[str, Route]) -> Route:
    async def dispatch(request: Request) -> Response:
        route = handlers[request.method]  # the router already checked the method against ``methods``
        response: Response = await route.endpoint(request)
        return response

    methods = sorted({m for m in handlers if m != "HEAD"})
    return Route(path, dispatch, methods=methods, name=handlers[methods[0]].name)
