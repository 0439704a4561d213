"""Matrix rows of the instructor console: the class channel socket and the class/room management routes.

The class channel opens (101, with its snapshot) for every member of the class; the grid (``?grid=1``) only for
its instructors (a student is closed with 4403). Renaming/archiving a class or a room, a pair room's members and
"pair everyone" are for the class's instructors (and admins); its students get 403, other classes' people 404.
"""

from __future__ import annotations

from authz_harness import Case, cells
from authz_world import World

CLASS1_MEMBERS = cells(anonymous=4401, student_a=101, student_b=101, student_other=4404, instructor=101,
                       other_instructor=4404, admin=101)
INSTRUCTORS = cells(anonymous=401, student_a=403, student_b=403, student_other=404, instructor=200,
                    other_instructor=404, admin=200)


def events(suffix: str = ""):  # type: ignore[no-untyped-def]
    return lambda w: f"/api/classes/{w.class1.id}/events{suffix}"


def _students(w: World) -> dict[str, list[str]]:
    return {"students": [str(w.users["student_a"].id), str(w.users["student_b"].id)]}


ROWS = [
    Case("WS", "/api/classes/{class_id}/events", CLASS1_MEMBERS, url=events()),
    Case("WS", "/api/classes/{class_id}/events",
         cells(anonymous=4401, student_a=4403, student_b=4403, student_other=4404, instructor=101,
               other_instructor=4404, admin=101),
         url=events("?grid=1"), note="the live grid"),
    Case("WS", "/api/classes/{class_id}/events",
         cells(anonymous=4401, student_a=4404, student_b=4404, student_other=4404, instructor=4404,
               other_instructor=4404, admin=4404),
         url=lambda w: "/api/classes/not-a-uuid/events", note="bad id"),
    Case("PATCH", "/api/classes/{class_id}", INSTRUCTORS, url=lambda w: f"/api/classes/{w.class1.id}",
         body=lambda w: {"name": "Renamed", "archived": True}, fresh=True),
    Case("PATCH", "/api/rooms/{room_id}", INSTRUCTORS, url=lambda w: f"/api/rooms/{w.pair_ab.id}",
         body=lambda w: {"name": "Pair 2", "archived": True}, fresh=True, note="pair room of A and B"),
    Case("PATCH", "/api/rooms/{room_id}",
         cells(anonymous=401, student_a=403, student_b=404, student_other=404, instructor=200,
               other_instructor=404, admin=200),
         url=lambda w: f"/api/rooms/{w.room_a.id}", body=lambda w: {"name": "Ann's corner"}, fresh=True,
         note="A's personal room"),
    Case("PUT", "/api/rooms/{room_id}/members", INSTRUCTORS, url=lambda w: f"/api/rooms/{w.pair_ab.id}/members",
         body=lambda w: {"members": [str(w.users["student_b"].id), str(w.users["student_a"].id)]}, fresh=True),
    Case("POST", "/api/classes/{class_id}/pairs",
         cells(anonymous=401, student_a=403, student_b=403, student_other=404, instructor=201,
               other_instructor=404, admin=201),
         url=lambda w: f"/api/classes/{w.class1.id}/pairs", body=_students, fresh=True),
]
