"""Lessons in the database: import a course directory as new versions, read the latest versions.

Versioning: a lesson's identity is ``(course, slug)``; importing a file whose content hash differs from the
latest version adds ``version + 1``; an unchanged file adds nothing (so importing at every start-up is cheap).
Rooms and runs refer to ``course/slug``, which always means the latest version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from classroom.courses.format import load_course_dir, tests_to_text
from classroom.tables import Lesson

SAMPLE_DIR = Path(__file__).parent / "sample"


@dataclass
class ImportReport:
    course: str
    added: list[str] = field(default_factory=list)  # "slug@version"
    unchanged: list[str] = field(default_factory=list)


async def import_course(directory: Path) -> ImportReport:
    name, lessons = load_course_dir(directory)
    report = ImportReport(name)
    latest = {lesson.slug: lesson for lesson in await latest_lessons(name)}
    for lesson in lessons:
        current = latest.get(lesson.slug)
        if current is not None and current.content_hash == lesson.content_hash:
            if current.position != lesson.position:
                await Lesson.update({Lesson.position: lesson.position}).where(Lesson.id == current.id).run()
            report.unchanged.append(lesson.slug)
            continue
        version = 1 if current is None else current.version + 1
        await (
            Lesson(
                id=uuid.uuid4(),
                course=name,
                slug=lesson.slug,
                version=version,
                position=lesson.position,
                title=lesson.title,
                body=lesson.body,
                starter_files=lesson.starter_files,
                hidden_tests=tests_to_text(lesson.hidden_tests),
                hint_after=lesson.hint_after,
                points=lesson.points,
                hints=lesson.hints,
                content_hash=lesson.content_hash,
                created_at=datetime.now(UTC),
            )
            .save()
            .run()
        )
        report.added.append(f"{lesson.slug}@{version}")
    return report


async def latest_lessons(course: str) -> list[Lesson]:
    """The latest version of each lesson of ``course``, in course order."""
    rows = await Lesson.objects().where(Lesson.course == course).output(load_json=True).run()
    latest: dict[str, Lesson] = {}
    for row in rows:
        if row.slug not in latest or row.version > latest[row.slug].version:
            latest[row.slug] = row
    return sorted(latest.values(), key=lambda row: (row.position, row.slug))


async def get_lesson(course: str, slug: str) -> Lesson | None:
    return (
        await Lesson.objects()
        .where((Lesson.course == course) & (Lesson.slug == slug))
        .order_by(Lesson.version, ascending=False)
        .output(load_json=True)
        .first()
        .run()
    )
