"""Matrix rows of the fork API (issue 12): preview and fork a demo into your own room, fork it for everyone.

Who: the class's students fork (their own room); instructors and admins fork for everyone (they have no personal
room: 403 on the student routes). A room the actor cannot read is 404; a room that is not a demo is 400.
"""

from __future__ import annotations

from authz_harness import Case, cells
from authz_world import World


def fork(name: str, suffix: str = "fork"):  # type: ignore[no-untyped-def]
    return lambda w: f"/api/rooms/{getattr(w, name).id}/{suffix}"


STUDENTS_OF_CLASS1 = cells(
    anonymous=401, student_a=200, student_b=200, student_other=404, instructor=403, other_instructor=404, admin=403
)


def _bad(w: World) -> str:
    return "/api/rooms/not-a-uuid/fork"


ROWS = [
    Case("GET", "/api/rooms/{room_id}/fork", STUDENTS_OF_CLASS1, url=fork("demo1"), note="demo"),
    Case(
        "GET",
        "/api/rooms/{room_id}/fork",
        cells(
            anonymous=401,
            student_a=400,
            student_b=404,
            student_other=404,
            instructor=403,
            other_instructor=404,
            admin=403,
        ),
        url=fork("room_a"),
        note="A's personal room is no demo",
    ),
    Case(
        "POST",
        "/api/rooms/{room_id}/fork",
        {**STUDENTS_OF_CLASS1, "student_a": 201, "student_b": 201},
        url=fork("demo1"),
        body=lambda w: {"mode": "rename"},
        fresh=True,
        note="demo",
    ),
    Case(
        "POST",
        "/api/rooms/{room_id}/fork",
        cells(
            anonymous=401,
            student_a=404,
            student_b=404,
            student_other=404,
            instructor=404,
            other_instructor=404,
            admin=404,
        ),
        url=_bad,
        body=lambda w: {},
        note="bad id",
    ),
    Case(
        "POST",
        "/api/rooms/{room_id}/fork-all",
        cells(
            anonymous=401,
            student_a=403,
            student_b=403,
            student_other=404,
            instructor=200,
            other_instructor=404,
            admin=200,
        ),
        url=fork("demo1", "fork-all"),
        body=lambda w: {},
        fresh=True,
    ),
    Case(
        "POST",
        "/api/rooms/{room_id}/fork-all",
        cells(
            anonymous=401,
            student_a=403,
            student_b=403,
            student_other=404,
            instructor=200,
            other_instructor=404,
            admin=200,
        ),
        url=fork("demo1", "fork-all"),
        body=lambda w: {"mode": "replace"},
        fresh=True,
        note="as a new file set",
    ),
    Case(
        "POST",
        "/api/rooms/{room_id}/fork-all",
        cells(
            anonymous=401,
            student_a=403,
            student_b=404,
            student_other=404,
            instructor=400,
            other_instructor=404,
            admin=400,
        ),
        url=fork("room_a", "fork-all"),
        body=lambda w: {},
        note="not a demo",
    ),
]
