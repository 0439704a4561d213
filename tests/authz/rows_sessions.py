"""Matrix rows of the control plane (hands, modes, follow-me, the session view) and the analytics snapshot.

Who may: a class's students raise and lower their own hand and read the session; its instructors (and admins)
list and resolve hands, switch room modes, set follow-me and read analytics. Other classes' people get 404.
``setup`` raises student A's hand in class 1 (``world.extra["hand_a"]``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from authz_harness import Case, cells
from authz_world import World

from classroom.tables import HelpRequest


async def setup(world: World) -> None:
    hand = HelpRequest(
        id=uuid.uuid4(),
        klass=world.class1.id,
        user=world.users["student_a"].id,
        note="help",
        created_at=datetime.now(UTC),
    )
    await hand.save().run()
    world.extra["hand_a"] = hand.id


def klass(suffix: str, which: str = "class1"):  # type: ignore[no-untyped-def]
    return lambda w: f"/api/classes/{getattr(w, which).id}{suffix}"


def room_mode(name: str):  # type: ignore[no-untyped-def]
    return lambda w: f"/api/rooms/{getattr(w, name).id}/mode"


def _resolve(w: World) -> str:
    return f"/api/classes/{w.class1.id}/hands/{w.extra['hand_a']}/resolve"


# The class's instructors (and admins) may; its students may not (403); other classes' people see nothing (404).
INSTRUCTORS = cells(
    anonymous=401, student_a=403, student_b=403, student_other=404, instructor=200, other_instructor=404, admin=200
)

ROWS = [
    Case(
        "POST",
        "/api/classes/{class_id}/hand",
        cells(
            anonymous=401,
            student_a=200,
            student_b=201,
            student_other=404,
            instructor=403,
            other_instructor=404,
            admin=403,
        ),
        url=klass("/hand"),
        body=lambda w: {"note": "stuck"},
        fresh=True,
        note="A's hand is already up: 200",
    ),
    Case(
        "POST",
        "/api/classes/{class_id}/hand",
        cells(
            anonymous=401,
            student_a=404,
            student_b=201,
            student_other=404,
            instructor=403,
            other_instructor=404,
            admin=403,
        ),
        url=klass("/hand"),
        body=lambda w: {"room_id": str(w.room_b.id)},
        fresh=True,
        note="in B's room",
    ),
    Case(
        "DELETE",
        "/api/classes/{class_id}/hand",
        cells(
            anonymous=401,
            student_a=200,
            student_b=404,
            student_other=404,
            instructor=404,
            other_instructor=404,
            admin=404,
        ),
        url=klass("/hand"),
        fresh=True,
    ),
    Case("GET", "/api/classes/{class_id}/hands", INSTRUCTORS, url=klass("/hands")),
    Case("POST", "/api/classes/{class_id}/hands/{hand_id}/resolve", INSTRUCTORS, url=_resolve, fresh=True),
    Case(
        "PUT",
        "/api/rooms/{room_id}/mode",
        INSTRUCTORS,
        url=room_mode("pair_ab"),
        body=lambda w: {"mode": "demo"},
        fresh=True,
        note="pair room of A and B",
    ),
    Case(
        "PUT",
        "/api/rooms/{room_id}/mode",
        cells(
            anonymous=401,
            student_a=403,
            student_b=404,
            student_other=404,
            instructor=200,
            other_instructor=404,
            admin=200,
        ),
        url=room_mode("room_a"),
        body=lambda w: {"mode": "pair"},
        fresh=True,
        note="A's personal room",
    ),
    Case(
        "POST",
        "/api/classes/{class_id}/follow",
        INSTRUCTORS,
        url=klass("/follow"),
        body=lambda w: {"room_id": str(w.demo1.id)},
        fresh=True,
    ),
    Case(
        "GET",
        "/api/classes/{class_id}/session",
        cells(
            anonymous=401,
            student_a=200,
            student_b=200,
            student_other=404,
            instructor=200,
            other_instructor=404,
            admin=200,
        ),
        url=klass("/session"),
    ),
    Case(
        "GET",
        "/api/classes/{class_id}/session",
        cells(
            anonymous=401,
            student_a=404,
            student_b=404,
            student_other=404,
            instructor=404,
            other_instructor=404,
            admin=404,
        ),
        url=lambda w: "/api/classes/not-a-uuid/session",
        note="bad id",
    ),
    Case("GET", "/api/classes/{class_id}/analytics", INSTRUCTORS, url=klass("/analytics")),
]
