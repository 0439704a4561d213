"""schemathesis over ``/openapi.json``: generated requests to every declared operation get no 5xx and answers
that match the declared schema (status codes, bodies, content types).

The app runs in-process (schemathesis's ASGI client) on a migrated SQLite database with the sample course and
the authorization matrix's world, signed in as the class's instructor so the handlers past the auth check are
exercised too. Ray and the sandbox probe are off, as in the other edge tests.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

sys.path.insert(0, str(Path(__file__).parent / "authz"))

from authz_harness import app_settings
from authz_world import build_world

from classroom import courses, db
from classroom.app import create_app

# Operations whose status is not about the request: /readyz answers 503 while the (unstarted) sandbox probe runs.
EXCLUDED_PATHS = ("/readyz",)
EXCLUDED_CHECKS = [
    # Mutates one credential while ours stays valid in the headers, so it cannot tell; who may do what is
    # asserted cell by cell by the authorization matrix instead.
    checks.ignored_auth,
    # Demands 2xx for any schema-valid body; a 400 for rules a schema cannot state (a pair room has 2-3 students
    # *of this class*, a lesson must exist) is correct. 5xx and undocumented statuses are still failures.
    checks.positive_data_acceptance,
]


def _prepare(tmp: Path) -> tuple[Any, dict[str, str]]:
    async def setup() -> tuple[Any, dict[str, str]]:
        engine = db.engine_from_url(f"sqlite:///{tmp / 'fuzz.sqlite'}")
        await db.migrate(engine)
        await courses.import_course(courses.SAMPLE_DIR)
        # Generated requests come by the hundred: a runs-per-minute limit would answer most of them with 429.
        app = create_app(app_settings(tmp, engine, runs_per_minute="1000000"))
        world = await build_world(app.state.settings)
        return app, world.headers("instructor")

    return asyncio.run(setup())


_APP, _HEADERS = _prepare(Path(__import__("tempfile").mkdtemp(prefix="classroom-fuzz-")))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.exclude(path=list(EXCLUDED_PATHS)).parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    response = case.call(headers=dict(_HEADERS))
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    # Two answers schemathesis misjudges: 503 "unavailable" (Ray and the sandboxes are off here by design) and
    # 413 for a generated body over the size cap (a rejection, which its negative-data check does not list).
    if (response.status_code, error) in ((503, "unavailable"), (413, "payload_too_large")):
        documented = case.operation.definition.raw["responses"]
        assert str(response.status_code) in documented, f"{case.operation.label}: {response.status_code} undocumented"
        return
    case.validate_response(response, excluded_checks=EXCLUDED_CHECKS)


@pytest.mark.parametrize("path", EXCLUDED_PATHS)
def test_exclusions_are_real(path: str) -> None:
    assert path in schema.raw_schema["paths"]


# Bodies no generator makes but attackers do: each must be a 400 with a reason on every operation that takes a
# body (the parse comes before any handler), never a 5xx, and the app must keep serving.
HOSTILE_BODIES = {
    "deep array": b"[" * 100_000 + b"]" * 100_000,
    "deep object": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "deeper than allowed": b'{"a":' + b"[" * 40 + b"]" * 40 + b"}",
    "huge integer": b'{"name": ' + b"9" * 100_000 + b"}",
    "float overflow": b'{"name": 1e400}',
    "duplicate key": b'{"name": "a", "name": "b"}',
    "NaN": b'{"name": NaN}',
    "not UTF-8": b'{"name": "\xff\xfe"}',
}


def _body_operations() -> list[tuple[str, str]]:
    found = []
    for path, methods in schema.raw_schema["paths"].items():
        for method, op in methods.items():
            if "requestBody" in op:
                found.append((method.upper(), path))
    return found


@pytest.mark.anyio
@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
async def test_hostile_bodies_are_refused_with_a_reason(kind: str) -> None:
    import re
    import uuid

    import httpx

    operations = _body_operations()
    assert {("POST", "/api/join"), ("POST", "/api/runs")} <= set(operations)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(_APP), base_url="http://127.0.0.1:8000") as client:
        bearer = _HEADERS["Authorization"].removeprefix("Bearer ")
        for method, path in operations:
            # Credentials in the path (Piston's base URL) are the caller's own; any other id is a random one.
            url = re.sub(r"{\w+}", str(uuid.uuid4()), path.replace("{token}", bearer))
            headers = {**_HEADERS, "content-type": "application/json"}
            response = await client.request(method, url, content=HOSTILE_BODIES[kind], headers=headers)
            assert response.status_code == 400, (method, path, response.status_code, response.text[:200])
            assert response.json()["error"] == "bad_request" and response.json()["detail"]
        assert (await client.get("/healthz")).status_code == 200
