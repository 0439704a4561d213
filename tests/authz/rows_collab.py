"""Matrix rows of the collaboration WebSocket (``WS /collab/{room_id}``).

Reading a room needs :func:`classroom.auth.access.room_access`; the socket opens (101) for who may read and closes
with the edge's close code otherwise (4401 no token, 4404 a room the actor may not see).
"""

from __future__ import annotations

from authz_harness import Case, cells
from authz_world import World


def room(name: str):  # type: ignore[no-untyped-def]
    return lambda w: f"/collab/{getattr(w, name).id}"


def _bad(w: World) -> str:
    return "/collab/not-a-uuid"


ROWS = [
    Case(
        "WS",
        "/collab/{room_id}",
        cells(
            anonymous=4401,
            student_a=101,
            student_b=4404,
            student_other=4404,
            instructor=101,
            other_instructor=4404,
            admin=101,
        ),
        url=room("room_a"),
        note="A's personal room",
    ),
    Case(
        "WS",
        "/collab/{room_id}",
        cells(
            anonymous=4401,
            student_a=101,
            student_b=101,
            student_other=4404,
            instructor=101,
            other_instructor=4404,
            admin=101,
        ),
        url=room("demo1"),
        note="demo room",
    ),
    Case(
        "WS",
        "/collab/{room_id}",
        cells(
            anonymous=4401,
            student_a=4404,
            student_b=4404,
            student_other=4404,
            instructor=4404,
            other_instructor=4404,
            admin=4404,
        ),
        url=_bad,
        note="bad id",
    ),
]
