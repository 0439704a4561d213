"""Matrix rows of the drop-in execution APIs: Judge0 CE (``/judge0``) and Piston v2 (``/piston``).

Both take API credentials only (the actors' bearer JWTs here; ``X-Auth-Token`` and path tokens in their own
tests). A Judge0 submission is a run: who may read it follows the run's access (submitter, the room's class
instructors, admins; others 404, as an unknown token). On ``/piston/{token}/...`` the token in the path *is* the
credential, whoever sends it: a valid one acts as its owner for every actor (anonymous included), a bad one is
401 for everyone. The matrix app runs without Ray, so an allowed submission answers 503 after the checks.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from authz_harness import Case, cells, everyone, signed_in
from authz_world import World

from classroom.auth import tokens
from classroom.tables import ApiToken, Judge0Submission

CODE = {"source_code": "print(1)", "language_id": 71}
PISTON = {"language": "python", "version": "*", "files": [{"content": "print(1)"}]}
SEE_A = cells(
    anonymous=401, student_a=200, student_b=404, student_other=404, instructor=200, other_instructor=404, admin=200
)
NO_RAY = signed_in(503)


async def setup(world: World) -> None:
    raw, digest = tokens.new_api_token()
    row = ApiToken(
        id=uuid.uuid4(),
        user=world.users["student_a"].id,
        name="piston",
        token_hash=digest,
        created_at=datetime.now(UTC),
    )
    await row.save().run()
    world.extra["raw_token_a"] = raw
    await (
        Judge0Submission(
            id=world.run_a.id, run=world.run_a.id, language_id=71, options={}, created_at=datetime.now(UTC)
        )
        .save()
        .run()
    )


def _a_path(suffix: str):  # type: ignore[no-untyped-def]
    return lambda w: f"/piston/{w.extra['raw_token_a']}{suffix}"


BAD = "/piston/cr_not-a-token"

ROWS = [
    Case("POST", "/judge0/submissions", NO_RAY, body=lambda w: CODE, note="no Ray"),
    Case("POST", "/judge0/submissions/batch", NO_RAY, body=lambda w: {"submissions": [CODE, CODE]}, note="no Ray"),
    Case(
        "GET",
        "/judge0/submissions/{token}",
        SEE_A,
        url=lambda w: f"/judge0/submissions/{w.run_a.id}",
        note="A's submission",
    ),
    Case(
        "GET",
        "/judge0/submissions/{token}",
        cells(
            anonymous=401,
            student_a=404,
            student_b=404,
            student_other=404,
            instructor=404,
            other_instructor=404,
            admin=404,
        ),
        url=lambda w: f"/judge0/submissions/{w.run_demo.id}",
        note="a run that is no Judge0 submission",
    ),
    Case(
        "GET",
        "/judge0/submissions/batch",
        signed_in(200),
        url=lambda w: f"/judge0/submissions/batch?tokens={w.run_a.id}",
        note="invisible ones are null",
    ),
    Case("GET", "/judge0/languages", signed_in(200)),
    Case("GET", "/judge0/languages/{language_id}", signed_in(200), url=lambda w: "/judge0/languages/71"),
    Case(
        "GET",
        "/judge0/languages/{language_id}",
        signed_in(404),
        url=lambda w: "/judge0/languages/63",
        note="not served",
    ),
    Case("GET", "/judge0/statuses", signed_in(200)),
    Case("GET", "/judge0/about", signed_in(200)),
    Case("GET", "/judge0/config_info", signed_in(200)),
    Case("GET", "/piston/api/v2/runtimes", signed_in(200)),
    Case("POST", "/piston/api/v2/execute", NO_RAY, body=lambda w: PISTON, note="no Ray"),
    Case("WS", "/piston/api/v2/connect", signed_in(101, anonymous=4401), note="waits for init"),
    Case(
        "GET",
        "/piston/{token}/api/v2/runtimes",
        everyone(200),
        url=_a_path("/api/v2/runtimes"),
        note="A's token in the path",
    ),
    Case(
        "GET",
        "/piston/{token}/api/v2/runtimes",
        everyone(401),
        url=lambda w: BAD + "/api/v2/runtimes",
        note="bad token in the path",
    ),
    Case(
        "POST",
        "/piston/{token}/api/v2/execute",
        everyone(503),
        url=_a_path("/api/v2/execute"),
        body=lambda w: PISTON,
        note="A's token, no Ray",
    ),
    Case(
        "POST",
        "/piston/{token}/api/v2/execute",
        everyone(401),
        url=lambda w: BAD + "/api/v2/execute",
        body=lambda w: PISTON,
        note="bad token",
    ),
    Case(
        "WS",
        "/piston/{token}/api/v2/connect",
        everyone(101),
        url=_a_path("/api/v2/connect"),
        note="A's token, waits for init",
    ),
    Case(
        "WS", "/piston/{token}/api/v2/connect", everyone(4401), url=lambda w: BAD + "/api/v2/connect", note="bad token"
    ),
]
