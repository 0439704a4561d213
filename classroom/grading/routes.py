"""Grading over HTTP: check a room, a room's checks and revealed hints, the gradebook (JSON and CSV), my grades.

- ``POST /api/rooms/{room_id}/check`` (a writer of the room) — 202 like a run: follow it on
  ``WS /api/runs/{id}/stream``; its ``exit`` message carries ``grade`` (per-test results) and ``fraction``.
- ``GET /api/rooms/{room_id}/checks`` (whoever may read the room) — best score, attempts, hints revealed.
- ``GET /api/classes/{class_id}/gradebook`` and ``.../gradebook.csv`` (the class's instructors).
- ``GET /api/classes/{class_id}/grades/me`` (a student of the class: their own row).
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from classroom.api import endpoint
from classroom.auth.access import room_access
from classroom.auth.service import class_of_request, require_user
from classroom.errors import BadRequest, Forbidden
from classroom.grading import service
from classroom.grading.schemas import CheckIn, GradebookOut, RoomChecksOut
from classroom.runs.schemas import RunAccepted
from classroom.runs.service import RunService


def _course(request: Request, course: str | None) -> str:
    return course or str(getattr(request.app.state, "default_course", None) or "sample")


@endpoint(
    "POST",
    "/api/rooms/{room_id}/check",
    summary="Check the room's files against its lesson's hidden tests (a run of kind grade)",
    tag="grading",
    body=CheckIn,
    response=RunAccepted,
    status=202,
    errors=(400, 403, 404, 409, 429, 503),
)
async def check_room(request: Request, body: CheckIn) -> RunAccepted:
    user = await require_user(request)
    access = await room_access(user, request.path_params["room_id"])
    if not access.can_write:
        raise Forbidden("only the room's writers can check it")
    lesson = await service.lesson_of(access.room)
    runs: RunService = request.app.state.runs
    runs.require_dispatcher()
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        from classroom.auth.ratelimit import limits

        await limiter.hit(limits(runs.settings)["runs"], str(user.id))
    rooms = getattr(request.app.state, "rooms", None)
    if rooms is None:
        raise BadRequest("rooms are not served by this process")
    room_id = str(access.room.id)
    if body.state_vector is not None:
        state_vector = service.decode_state_vector(body.state_vector)
        try:
            files = await rooms.rebuild(room_id, state_vector=state_vector)
        except (ValueError, RuntimeError) as exc:
            raise BadRequest(f"state_vector: not a state vector of this room ({exc})") from None
    else:
        # read in one step of the event loop: the files and the state vector describe the same document
        files, state_vector = await rooms.files(room_id), await rooms.state_vector(room_id)
    run_id, status, position = await runs.submit(
        user_id=str(user.id),
        files=files,
        entry="main.py",
        stdin="",
        args=[],
        interactive=False,
        room_id=room_id,
        class_id=str(access.class_id),
        state_vector=state_vector,
        exercise=access.room.lesson,
        grade=(lesson.id, service.grade_spec(lesson)),
    )
    return RunAccepted(id=run_id, status=status, queue_position=position)


@endpoint(
    "GET",
    "/api/rooms/{room_id}/checks",
    summary="The room's checks of its exercise: best score, attempts, per-test results, hints revealed so far",
    tag="grading",
    response=RoomChecksOut,
    errors=(404, 409),
)
async def room_checks(request: Request) -> RoomChecksOut:
    user = await require_user(request)
    access = await room_access(user, request.path_params["room_id"])
    lesson = await service.lesson_of(access.room)
    return await service.room_checks(access.room, lesson)


@endpoint(
    "GET",
    "/api/classes/{class_id}/gradebook",
    summary="Per student and exercise: best score, attempts, first-pass time (instructors)",
    tag="grading",
    response=GradebookOut,
    errors=(403, 404),
)
async def gradebook(request: Request) -> GradebookOut:
    _, access = await class_of_request(request, instructor=True)
    return await service.gradebook(access.class_id, _course(request, access.klass.course))


@endpoint(
    "GET",
    "/api/classes/{class_id}/gradebook.csv",
    summary="The gradebook as CSV: one row per student (instructors)",
    tag="grading",
    errors=(403, 404),
)
async def gradebook_csv(request: Request) -> Response:
    _, access = await class_of_request(request, instructor=True)
    book = await service.gradebook(access.class_id, _course(request, access.klass.course))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(
        service.gradebook_csv(book),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="gradebook-{stamp}.csv"', "Cache-Control": "no-store"},
    )


@endpoint(
    "GET",
    "/api/classes/{class_id}/grades/me",
    summary="My own scores in the class (a student's row of the gradebook)",
    tag="grading",
    response=GradebookOut,
    errors=(404,),
)
async def my_grades(request: Request) -> GradebookOut:
    user, access = await class_of_request(request)
    return await service.gradebook(access.class_id, _course(request, access.klass.course), only_user=str(user.id))


def routes() -> list[BaseRoute]:
    return [check_room, room_checks, gradebook, gradebook_csv, my_grades]
