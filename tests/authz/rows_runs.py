"""Matrix rows of the run API (``/api/runs``, its stream, ``/api/rooms/{room_id}/runs``).

Who: the submitter, the members of the run's room and the class's instructors (and admins) read and stream a run;
only the submitter and the instructors control it (cancel, stdin). Runs the actor may not see are 404. The matrix
app runs without Ray, so an allowed submission answers 503 (the execution plane is off) — after the access
check, which is what these rows pin down.
"""

from __future__ import annotations

from authz_harness import Case, cells


def run(name: str, suffix: str = ""):  # type: ignore[no-untyped-def]
    return lambda w: f"/api/runs/{getattr(w, name).id}{suffix}"


def _room_runs(name: str):  # type: ignore[no-untyped-def]
    return lambda w: f"/api/rooms/{getattr(w, name).id}/runs"


def _submit_room(name: str):  # type: ignore[no-untyped-def]
    return lambda w: {"room_id": str(getattr(w, name).id)}


SEE_A = cells(
    anonymous=401, student_a=200, student_b=404, student_other=404, instructor=200, other_instructor=404, admin=200
)
SEE_DEMO = cells(
    anonymous=401, student_a=200, student_b=200, student_other=404, instructor=200, other_instructor=404, admin=200
)

ROWS = [
    Case(
        "POST",
        "/api/runs",
        cells(
            anonymous=401,
            student_a=403,
            student_b=403,
            student_other=403,
            instructor=503,
            other_instructor=503,
            admin=503,
        ),
        body=lambda w: {"code": "print(1)"},
        note="code in no class: staff only (a student's run belongs to one of their classes), no Ray",
    ),
    Case(
        "POST",
        "/api/runs",
        cells(
            anonymous=401,
            student_a=503,
            student_b=503,
            student_other=404,
            instructor=503,
            other_instructor=404,
            admin=503,
        ),
        body=lambda w: {"code": "print(1)", "class_id": str(w.class1.id)},
        note="code in class 1, no Ray",
    ),
    Case(
        "POST",
        "/api/runs",
        cells(
            anonymous=401,
            student_a=503,
            student_b=404,
            student_other=404,
            instructor=503,
            other_instructor=404,
            admin=503,
        ),
        body=_submit_room("room_a"),
        note="A's room, no Ray",
    ),
    Case(
        "POST",
        "/api/runs",
        cells(
            anonymous=401,
            student_a=403,
            student_b=403,
            student_other=404,
            instructor=503,
            other_instructor=404,
            admin=503,
        ),
        body=_submit_room("demo1"),
        note="demo room: students watch, no Ray",
    ),
    Case("GET", "/api/runs/{run_id}", SEE_A, url=run("run_a"), note="A's run"),
    Case("GET", "/api/runs/{run_id}", SEE_DEMO, url=run("run_demo"), note="demo run"),
    Case(
        "GET",
        "/api/runs/{run_id}",
        cells(
            anonymous=401,
            student_a=404,
            student_b=404,
            student_other=404,
            instructor=404,
            other_instructor=404,
            admin=404,
        ),
        url=lambda w: "/api/runs/not-a-uuid",
        note="bad id",
    ),
    Case("GET", "/api/runs/{run_id}/code", SEE_A, url=run("run_a", "/code"), note="A's run"),
    Case("GET", "/api/runs/{run_id}/code", SEE_DEMO, url=run("run_demo", "/code"), note="demo run"),
    Case("POST", "/api/runs/{run_id}/cancel", SEE_A, url=run("run_a", "/cancel"), note="A's run"),
    Case(
        "POST",
        "/api/runs/{run_id}/cancel",
        cells(
            anonymous=401,
            student_a=403,
            student_b=403,
            student_other=404,
            instructor=200,
            other_instructor=404,
            admin=200,
        ),
        url=run("run_demo", "/cancel"),
        note="demo run: students see, may not cancel",
    ),
    Case("GET", "/api/rooms/{room_id}/runs", SEE_A, url=_room_runs("room_a"), note="A's room"),
    Case("GET", "/api/rooms/{room_id}/runs", SEE_DEMO, url=_room_runs("demo1"), note="demo room"),
    Case(
        "WS",
        "/api/rooms/{room_id}/live",
        cells(
            anonymous=4401,
            student_a=101,
            student_b=4404,
            student_other=4404,
            instructor=101,
            other_instructor=4404,
            admin=101,
        ),
        url=lambda w: f"/api/rooms/{w.room_a.id}/live",
        note="A's room",
    ),
    Case(
        "WS",
        "/api/rooms/{room_id}/live",
        cells(
            anonymous=4401,
            student_a=101,
            student_b=101,
            student_other=4404,
            instructor=101,
            other_instructor=4404,
            admin=101,
        ),
        url=lambda w: f"/api/rooms/{w.demo1.id}/live",
        note="demo room",
    ),
    Case(
        "WS",
        "/api/runs/{run_id}/stream",
        cells(
            anonymous=4401,
            student_a=101,
            student_b=4404,
            student_other=4404,
            instructor=101,
            other_instructor=4404,
            admin=101,
        ),
        url=run("run_a", "/stream"),
        note="A's run",
    ),
    Case(
        "WS",
        "/api/runs/{run_id}/stream",
        cells(
            anonymous=4401,
            student_a=101,
            student_b=101,
            student_other=4404,
            instructor=101,
            other_instructor=4404,
            admin=101,
        ),
        url=run("run_demo", "/stream"),
        note="demo run",
    ),
]
