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

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from classroom.errors import BadRequest, PayloadTooLarge

MAX_JSON_BYTES = 2 * 1024 * 1024

Handler = Callable[..., Awaitable[Any]]


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


ENDPOINTS: list[Endpoint] = []


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
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None


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
) -> Callable[[Handler], Route]:
    """Declare a JSON route. The handler is ``async (request[, body]) -> BaseModel | Response``."""

    def wrap(handler: Handler) -> Route:
        async def run(request: Request) -> Response:
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
        ENDPOINTS.append(Endpoint(method, path, summary, tag, body, response, status, errors, auth, query))
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
