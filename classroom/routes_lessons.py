"""Lessons over HTTP and the start-up import of the configured course.

Lessons are readable by any signed-in user (course material is not secret); hidden tests never leave the server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

from starlette.requests import Request
from starlette.routing import BaseRoute

from classroom import auth, courses
from classroom.api import endpoint
from classroom.components import Health
from classroom.errors import NotFound
from classroom.schemas import LessonOut
from classroom.settings import Settings

log = logging.getLogger(__name__)


@endpoint(
    "GET",
    "/api/lessons/{course}/{slug}",
    summary="The latest version of a lesson (without its hidden tests)",
    tag="lessons",
    response=LessonOut,
    errors=(404,),
)
async def get_lesson(request: Request) -> LessonOut:
    await auth.require_user(request)
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
        hints=cast(list[str], lesson.hints),
    )


def course_dir(settings: Settings) -> Path:
    return Path(settings.course_dir).expanduser() if settings.course_dir else courses.SAMPLE_DIR


class CourseImport:
    """A start-up component: imports ``CLASSROOM_COURSE_DIR`` (default: the sample course) after the database.

    A broken course directory is logged and reported by ``/readyz`` as not ready, but does not stop the server.
    """

    name = "courses"
    required = False

    def __init__(self, settings: Settings, state: object) -> None:
        self.directory = course_dir(settings)
        self.state = state
        self.error: str | None = None
        self.course: str | None = None

    async def start(self) -> None:
        try:
            report = await courses.import_course(self.directory)
        except Exception as exc:  # the server is still useful without lessons; readyz says why
            self.error = f"{self.directory}: {exc}"
            log.error("courses: import failed: %s", self.error)
            return
        self.course = report.course
        self.state.default_course = report.course  # type: ignore[attr-defined]
        log.info("courses: %s (%d new, %d unchanged)", report.course, len(report.added), len(report.unchanged))

    async def stop(self) -> None:
        return None

    async def check(self) -> Health:
        if self.error:
            return Health(False, self.error)
        return Health(True, f"course {self.course}")


def routes() -> list[BaseRoute]:
    return [get_lesson]
