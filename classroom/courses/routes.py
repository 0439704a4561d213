"""Lessons over HTTP.

Lessons are readable by any signed-in user (course material is not secret); hidden tests never leave the server.
"""

from __future__ import annotations

from typing import cast

from starlette.requests import Request
from starlette.routing import BaseRoute

from classroom import courses
from classroom.api import endpoint
from classroom.auth import service as auth
from classroom.courses.format import tests_from_text
from classroom.courses.schemas import LessonOut
from classroom.errors import NotFound


@endpoint(
    "GET",
    "/api/lessons/{course}/{slug}",
    summary="The latest version of a lesson (without its hidden tests)",
    tag="lessons",
    response=LessonOut,
    errors=(404,),
)
async def get_lesson(request: Request) -> LessonOut:
    user = await auth.require_user(request)
    lesson = await courses.get_lesson(request.path_params["course"], request.path_params["slug"])
    if lesson is None:
        raise NotFound("no such lesson")
    return LessonOut(
        course=lesson.course,
        slug=lesson.slug,
        version=lesson.version,
        title=lesson.title,
        body=lesson.body,
        points=lesson.points,
        starter_files=cast(dict[str, str], lesson.starter_files),  # get_lesson decodes JSON columns
        # Students get hints one by one as their checks fail (GET /api/rooms/{id}/checks); staff see them all.
        hints=cast(list[str], lesson.hints) if user.role in ("instructor", "admin") else [],
        hint_count=len(cast(list[str], lesson.hints)),
        test_count=len(tests_from_text(lesson.hidden_tests)),
    )


def routes() -> list[BaseRoute]:
    return [get_lesson]
