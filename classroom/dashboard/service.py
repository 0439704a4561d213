"""The dashboard's view of a class: the analytics snapshot with each of the course's exercises (also those nobody
started), the class's size, and lesson titles; compared without its timestamp so only changes are pushed."""

from __future__ import annotations

import json
import uuid
from typing import Any, Protocol

from classroom import courses
from classroom.courses.format import tests_from_text
from classroom.grading.service import class_students


class AnalyticsSource(Protocol):
    """Where the analytics snapshot comes from (the control plane's analytics actor)."""

    async def snapshot(self, class_id: str) -> dict[str, Any]: ...


def empty_exercise(exercise: str) -> dict[str, Any]:
    return {
        "exercise": exercise,
        "runs": 0,
        "failures": 0,
        "checks": 0,
        "pass_rate": None,
        "students": 0,
        "solved": 0,
        "median_attempts_to_solve": None,
        "attempts_to_solve": [],
        "mean_seconds_between_runs": None,
        "stuck": 0,
        "top_errors": [],
    }


def merge(snapshot: dict[str, Any], lessons: list[dict[str, Any]], class_size: int) -> dict[str, Any]:
    """Pure: ``snapshot`` with one entry per lesson (course order; those nobody started included) carrying
    ``title``, ``graded`` and ``not_started`` (the class's students who never ran or checked it), then runs
    outside any lesson, if any."""
    seen = {e["exercise"]: e for e in snapshot.get("exercises", [])}
    exercises = []
    for lesson in lessons:
        entry = dict(seen.pop(lesson["exercise"], None) or empty_exercise(lesson["exercise"]))
        entry.update(title=lesson["title"], graded=lesson["graded"])
        entry["not_started"] = max(0, class_size - int(entry["students"]))
        exercises.append(entry)
    for rest in seen.values():  # runs outside any lesson, or of a lesson no longer in the course
        exercises.append({**rest, "title": rest["exercise"] or "Free practice", "graded": False, "not_started": None})
    titles = {lesson["exercise"]: lesson["title"] for lesson in lessons}
    for item in (*snapshot.get("clusters", []), *snapshot.get("stuck", [])):
        item["title"] = titles.get(item.get("exercise"), item.get("exercise") or "Free practice")
    return {**snapshot, "exercises": exercises, "class_size": class_size}


async def dashboard(source: AnalyticsSource, class_id: uuid.UUID, course: str) -> dict[str, Any]:
    lessons = [
        {"exercise": f"{x.course}/{x.slug}", "title": x.title, "graded": bool(tests_from_text(x.hidden_tests))}
        for x in await courses.latest_lessons(course)
    ]
    students = await class_students(class_id)
    return merge(await source.snapshot(str(class_id)), lessons, len(students))


def fingerprint(view: dict[str, Any]) -> str:
    """What changed, without the snapshot's own time: a new push is sent only when this differs."""
    return json.dumps({k: v for k, v in view.items() if k != "generated_at"}, sort_keys=True, default=str)
