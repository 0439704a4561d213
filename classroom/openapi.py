"""``GET /openapi.json`` built from the app's route table and the :func:`classroom.api.endpoint` declarations, and a
readable docs page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

import classroom
from classroom.api import DECLARED, Endpoint

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
}
REASONS = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    422: "Unprocessable (Judge0: the fields' errors)",
    429: "Too many requests",
    503: "Unavailable",
}

# WebSocket endpoints cannot be described by OpenAPI 3.0; they are listed in the description instead.
WEBSOCKETS: dict[str, str] = {}  # path -> description


def _collect(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(ep: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": ep.summary, "tags": [ep.tag], "operationId": f"{ep.method.lower()}_{ep.path}"}
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)(?::\w+)?}", ep.path)
    ]
    params += [
        {"name": name, "in": "query", "required": req, "description": desc, "schema": {"type": "string"}}
        for name, desc, req in ep.query
    ]
    if params:
        op["parameters"] = params
    body = ep.body or ep.doc_body
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _collect(body, components)}},
        }
    ok: dict[str, Any] = {"description": "OK"}
    if ep.response is not None:
        ok["content"] = {"application/json": {"schema": _collect(ep.response, components)}}
    responses: dict[str, Any] = {str(ep.status): ok}
    codes = set(ep.errors)
    if ep.body is not None:
        codes |= {400, 413}
    if ep.auth != "none":
        codes |= {401, 403}
    special = dict(ep.error_bodies)
    for code in sorted(codes | set(special)):
        schema = _collect(special[code], components) if code in special else {"$ref": "#/components/schemas/Error"}
        responses[str(code)] = {
            "description": REASONS.get(code, "Error"),
            "content": {"application/json": {"schema": schema}},
        }
    op["responses"] = responses
    if ep.auth == "token":  # API tokens only: Authorization, Judge0's X-Auth-Token or a path segment
        op["security"] = [{"bearer": []}, {"authToken": []}] if "{token}" not in ep.path else []
    elif ep.auth != "none":
        op["security"] = [{"cookie": []}, {"bearer": []}]
    return op


def declared_endpoints(routes: Sequence[BaseRoute]) -> list[Endpoint]:
    """The declared endpoints among ``routes`` (the app's table before :func:`~classroom.api.merge_methods`), in
    table order: the document follows the app, not the order in which modules happened to be imported."""
    found = []
    for route in routes:
        if isinstance(route, Route):
            found += [DECLARED[(m, route.path)] for m in sorted(route.methods or ()) if (m, route.path) in DECLARED]
    return found


def build_schema(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for ep in declared_endpoints(routes):
        path = re.sub(r"{(\w+):\w+}", r"{\1}", ep.path)
        paths.setdefault(path, {})[ep.method.lower()] = _operation(ep, components)
    ws = "\n".join(f"- `{path}`: {text}" for path, text in WEBSOCKETS.items())
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "classroom",
            "version": classroom.__version__,
            "description": "Real-time collaborative classroom server.\n\nWebSocket endpoints:\n" + ws,
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "classroom_session"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "authToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


DOCS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>classroom API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f4;border-radius:4px}pre{padding:.6rem;overflow:auto}
h2{border-bottom:1px solid #ddd;margin-top:2rem}.m{display:inline-block;min-width:4.5rem;font-weight:700}
details{margin:.3rem 0 .8rem 1rem}@media(prefers-color-scheme:dark){body{background:#111;color:#ddd}
code,pre{background:#222}}</style></head><body><h1>classroom API</h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Errors are JSON <code>{error, detail}</code>.</p>
<div id="out">Loading…</div><script>
fetch('/openapi.json').then(r=>r.json()).then(s=>{const o=document.getElementById('out');o.textContent='';
const d=document.createElement('div');d.innerHTML=s.info.description.replace(/`([^`]+)`/g,'<code>$1</code>')
.replace(/\\n- /g,'<br>• ');o.append(d);const tags={};for(const[p,ms]of Object.entries(s.paths))for(const[m,op]
of Object.entries(ms))(tags[op.tags[0]]??=[]).push([m,p,op]);for(const[t,ops]of Object.entries(tags)){
const h=document.createElement('h2');h.textContent=t;o.append(h);for(const[m,p,op]of ops){const e=
document.createElement('div');const b=document.createElement('b');b.className='m';b.textContent=m.toUpperCase();
const c=document.createElement('code');c.textContent=p;e.append(b,c,' — '+op.summary);const x=
document.createElement('details');const sm=document.createElement('summary');sm.textContent='schema';
const pre=document.createElement('pre');pre.textContent=JSON.stringify({requestBody:op.requestBody,
responses:op.responses},null,1);x.append(sm,pre);o.append(e,x)}}});</script></body></html>"""


async def docs_page(request: Request) -> Response:
    return HTMLResponse(DOCS_PAGE)


def routes() -> list[BaseRoute]:
    return [
        Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False),
        Route("/api/docs", docs_page, methods=["GET"], include_in_schema=False),
    ]
