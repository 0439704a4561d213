"""The course at start-up: the configured course directory is imported right after the database comes up."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette

from classroom import courses
from classroom.components import Component, Health
from classroom.settings import Settings

log = logging.getLogger(__name__)


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


def install(app: Starlette, settings: Settings, parts: list[Component]) -> None:
    """Set ``app.state.default_course`` and add the course import right after the database component."""
    app.state.default_course = "sample"
    database_at = next((i for i, p in enumerate(parts) if p.name == "database"), 0)
    parts.insert(database_at + 1, CourseImport(settings, app.state))
