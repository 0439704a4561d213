"""Matrix rows of grading: checks of a room, its checks and hints, the gradebook (JSON, CSV) and my grades.

Who: a writer of the room (its members; the class's instructors and admins) checks it — a demo room's students
read but may not check (403); readers of the room see its checks; only the class's instructors (and admins) read
the gradebook; every member of the class reads their own grades. Rooms and classes the actor may not see are
404. The matrix app runs without Ray, so an allowed check answers 503 after the access check.
"""

from __future__ import annotations

from authz_harness import Case, cells, everyone


def _room(name: str, suffix: str):  # type: ignore[no-untyped-def]
    return lambda w: f"/api/rooms/{getattr(w, name).id}{suffix}"


def _class(suffix: str):  # type: ignore[no-untyped-def]
    return lambda w: f"/api/classes/{w.class1.id}{suffix}"


CHECK_A = cells(
    anonymous=401, student_a=503, student_b=404, student_other=404, instructor=503, other_instructor=404, admin=503
)
CHECK_DEMO = cells(
    anonymous=401, student_a=403, student_b=403, student_other=404, instructor=503, other_instructor=404, admin=503
)
SEE_A = cells(
    anonymous=401, student_a=200, student_b=404, student_other=404, instructor=200, other_instructor=404, admin=200
)
SEE_DEMO = cells(
    anonymous=401, student_a=200, student_b=200, student_other=404, instructor=200, other_instructor=404, admin=200
)
TEACHERS = cells(
    anonymous=401, student_a=403, student_b=403, student_other=404, instructor=200, other_instructor=404, admin=200
)
DASHBOARD = cells(
    anonymous=401, student_a=403, student_b=403, student_other=404, instructor=200, other_instructor=404, admin=200
)
DASHBOARD_WS = cells(
    anonymous=4401, student_a=4403, student_b=4403, student_other=4404, instructor=101, other_instructor=4404, admin=101
)
MEMBERS = cells(
    anonymous=401, student_a=200, student_b=200, student_other=404, instructor=200, other_instructor=404, admin=200
)

ROWS = [
    Case("POST", "/api/rooms/{room_id}/check", CHECK_A, url=_room("room_a", "/check"), body=lambda w: {}, note="A"),
    Case(
        "POST", "/api/rooms/{room_id}/check", CHECK_DEMO, url=_room("demo1", "/check"), body=lambda w: {}, note="demo"
    ),
    Case("GET", "/api/rooms/{room_id}/checks", SEE_A, url=_room("room_a", "/checks"), note="A's room"),
    Case("GET", "/api/rooms/{room_id}/checks", SEE_DEMO, url=_room("demo1", "/checks"), note="demo room"),
    Case("GET", "/api/classes/{class_id}/gradebook", TEACHERS, url=_class("/gradebook"), note="class 1"),
    Case("GET", "/api/classes/{class_id}/gradebook.csv", TEACHERS, url=_class("/gradebook.csv"), note="class 1"),
    Case("GET", "/api/classes/{class_id}/grades/me", MEMBERS, url=_class("/grades/me"), note="class 1"),
    # the dashboard (classroom.dashboard): instructors only, once over HTTP (analytics runs in-process without
    # Ray) and live over a WebSocket
    Case("GET", "/api/classes/{class_id}/dashboard", DASHBOARD, url=_class("/dashboard"), note="class 1"),
    Case("WS", "/api/classes/{class_id}/dashboard/live", DASHBOARD_WS, url=_class("/dashboard/live"), note="class 1"),
    # their pages are public shells: the page's script asks the API, which checks access
    Case("GET", "/classes/{class_id}/gradebook", everyone(200), url=lambda w: f"/classes/{w.class1.id}/gradebook"),
    Case("GET", "/classes/{class_id}/dashboard", everyone(200), url=lambda w: f"/classes/{w.class1.id}/dashboard"),
]
