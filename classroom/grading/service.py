"""Checks and grades: submit a check of a room, a room's standing on its exercise, the class gradebook.

Rules (documented in the README):
- A check grades the files of a room opened on a lesson with hidden tests; it counts for the person who pressed
  Check. Its score is the lesson's points times the passed tests' share of the weights (``runs.score``).
- Best score = the highest over a student's checks of that exercise; attempts = their checks; first pass = the
  first check that earned every point.
- Hints: the k-th hint of a lesson is revealed to a room after ``k * hint_after`` failed checks in that room.
- The gradebook lists the class's students only (enrolled as students; instructors and admins never appear).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from classroom import courses
from classroom.courses.format import tests_from_text
from classroom.errors import BadRequest, Conflict
from classroom.grading.schemas import (
    CellOut,
    CheckOut,
    ExerciseOut,
    GradebookOut,
    RoomChecksOut,
    StudentGradesOut,
)
from classroom.runs.schemas import GradeOut
from classroom.tables import Enrollment, Lesson, Room, Run

FULL = 1 - 1e-9  # a score fraction at or above this earned every point
RECENT_CHECKS = 20


def exercise_key(lesson: Lesson) -> str:
    return f"{lesson.course}/{lesson.slug}"


async def lesson_of(room: Room) -> Lesson:
    """The room's lesson, if it has hidden tests; :class:`Conflict` otherwise (nothing to check)."""
    if not room.lesson:
        raise Conflict("this room is not opened on a lesson, so there is nothing to check")
    course, _, slug = str(room.lesson).partition("/")
    lesson = await courses.get_lesson(course, slug)
    if lesson is None:
        raise Conflict(f"the room's lesson {room.lesson!r} no longer exists")
    if not tests_from_text(lesson.hidden_tests):
        raise Conflict("this lesson has no hidden tests to check")
    return lesson


def grade_spec(lesson: Lesson) -> dict[str, Any]:
    tests = tests_from_text(lesson.hidden_tests)
    return {"tests": [{"name": t.name, "code": t.code, "points": t.points, "message": t.message} for t in tests]}


def decode_state_vector(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("state_vector: not base64") from None
    if not raw:
        raise BadRequest("state_vector: empty")
    return raw


# -- a room's checks ---------------------------------------------------------------------------------------------


def check_out(row: dict[str, Any], points: int) -> CheckOut:
    score = row["score"]
    return CheckOut(
        id=str(row["id"]),
        status=row["status"],
        user_id=str(row["user"]),
        user_name=row["user.display_name"] or "",
        verdict=row["verdict"],
        score=None if score is None else round(float(score) * points, 2),
        points=points,
        grade=None if not row["grade"] else GradeOut.model_validate(row["grade"]),
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


def revealed_hints(hints: list[str], failed: int, hint_after: int) -> tuple[list[str], int | None]:
    """The hints revealed after ``failed`` failed checks, and how many more failures reveal the next one."""
    shown = min(len(hints), failed // hint_after)
    return hints[:shown], (None if shown >= len(hints) else hint_after * (shown + 1) - failed)


async def room_checks(room: Room, lesson: Lesson) -> RoomChecksOut:
    rows = await (
        Run.select(
            Run.id,
            Run.user,
            Run.user.display_name,
            Run.status,
            Run.verdict,
            Run.score,
            Run.grade,
            Run.created_at,
            Run.finished_at,
        )
        .where((Run.room == room.id) & (Run.kind == "grade") & (Run.exercise == room.lesson))
        .order_by(Run.created_at, ascending=False)
        .output(load_json=True)
        .run()
    )
    finished = [r for r in rows if r["status"] == "finished"]
    scores = [float(r["score"] or 0) for r in finished]
    failed = sum(1 for s in scores if s < FULL)
    passes = [r["finished_at"] for r in finished if float(r["score"] or 0) >= FULL]
    hints = cast(list[str], lesson.hints or [])
    hint_after = int(lesson.hint_after or 2)
    shown, next_in = revealed_hints(hints, failed, hint_after)
    return RoomChecksOut(
        exercise=exercise_key(lesson),
        title=lesson.title,
        points=lesson.points,
        test_count=len(tests_from_text(lesson.hidden_tests)),
        best_score=round(max(scores) * lesson.points, 2) if scores else None,
        attempts=len(finished),
        failed=failed,
        passed_at=min(passes) if passes else None,
        hints=shown,
        hint_count=len(hints),
        hint_after=hint_after,
        next_hint_in=next_in,
        checks=[check_out(r, lesson.points) for r in rows[:RECENT_CHECKS]],
    )


# -- the gradebook -----------------------------------------------------------------------------------------------


@dataclass
class _Cell:
    best: float | None = None
    attempts: int = 0
    first_pass_at: datetime | None = None


def build_gradebook(
    class_id: str,
    exercises: list[ExerciseOut],
    students: list[tuple[str, str]],
    checks: Iterable[dict[str, Any]],
) -> GradebookOut:
    """Pure: the gradebook from the exercises (in course order), the students (id, name) and finished checks
    (``user``, ``exercise``, ``score`` fraction, ``points`` of the graded lesson version, ``finished_at``)."""
    known = {e.id for e in exercises}
    cells: dict[tuple[str, str], _Cell] = {}
    for c in checks:
        if c["exercise"] not in known:
            continue
        cell = cells.setdefault((str(c["user"]), c["exercise"]), _Cell())
        cell.attempts += 1
        fraction = float(c["score"] or 0)
        score = round(fraction * int(c["points"] or 0), 2)
        cell.best = score if cell.best is None else max(cell.best, score)
        if fraction >= FULL and (cell.first_pass_at is None or c["finished_at"] < cell.first_pass_at):
            cell.first_pass_at = c["finished_at"]
    out = []
    for sid, name in sorted(students, key=lambda s: (s[1].casefold(), s[0])):
        row = [cells.get((sid, e.id), _Cell()) for e in exercises]
        out.append(
            StudentGradesOut(
                id=sid,
                name=name,
                total=round(sum(c.best or 0 for c in row), 2),
                cells=[
                    CellOut(exercise=e.id, best=c.best, attempts=c.attempts, first_pass_at=c.first_pass_at)
                    for e, c in zip(exercises, row, strict=True)
                ],
            )
        )
    return GradebookOut(class_id=class_id, exercises=exercises, students=out)


async def class_students(class_id: uuid.UUID) -> list[tuple[str, str]]:
    """(id, display name) of the class's current students: enrolled as students, and students by account."""
    rows = await (
        Enrollment.select(Enrollment.user, Enrollment.user.display_name, Enrollment.user.role)
        .where((Enrollment.klass == class_id) & (Enrollment.role == "student") & Enrollment.removed_at.is_null())
        .run()
    )
    return [(str(r["user"]), r["user.display_name"]) for r in rows if r["user.role"] == "student"]


async def gradebook(class_id: uuid.UUID, course: str, only_user: str | None = None) -> GradebookOut:
    lessons = [lesson for lesson in await courses.latest_lessons(course) if tests_from_text(lesson.hidden_tests)]
    exercises = [ExerciseOut(id=exercise_key(x), title=x.title, points=x.points) for x in lessons]
    students = await class_students(class_id)
    where = (Run.klass == class_id) & (Run.kind == "grade") & (Run.status == "finished")
    if only_user is not None:
        students = [s for s in students if s[0] == only_user]
        where = where & (Run.user == uuid.UUID(only_user))
    checks = await (
        Run.select(Run.user, Run.exercise, Run.score, Run.finished_at, Run.lesson.points.as_alias("points"))
        .where(where)
        .run()
    )
    return build_gradebook(str(class_id), exercises, students, checks)


def gradebook_csv(book: GradebookOut) -> str:
    """One row per student: name, total, then best / attempts / first pass (UTC, ISO 8601) per exercise."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = ["student", "total"]
    for e in book.exercises:
        header += [f"{e.id} best (of {e.points})", f"{e.id} attempts", f"{e.id} first pass"]
    writer.writerow(header)
    for s in book.students:
        row: list[object] = [_cell_text(s.name), s.total]
        for c in s.cells:
            first = c.first_pass_at.astimezone(UTC).isoformat(timespec="seconds") if c.first_pass_at else ""
            row += ["" if c.best is None else c.best, c.attempts, first]
        writer.writerow(row)
    return out.getvalue()


def _cell_text(text: str) -> str:
    """Keep a spreadsheet from running a name as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
