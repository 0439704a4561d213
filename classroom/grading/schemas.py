"""Request and response models of the grading routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from classroom.runs.schemas import GradeOut


class CheckIn(BaseModel):
    """Check the room's files. ``state_vector`` pins the check to a state of the room's document (base64 of a
    Yjs state vector, e.g. what the student's editor shows): the files as of that state are graded, not edits
    that arrived since. Without it, the files as they are now."""

    model_config = {"extra": "forbid"}

    state_vector: str | None = Field(default=None, max_length=65536, description="base64 Yjs state vector")


class CheckOut(BaseModel):
    id: str
    status: str = Field(description="queued, running or finished")
    user_id: str
    user_name: str
    verdict: str | None
    score: float | None = Field(description="Points earned out of the lesson's points; null until finished")
    points: int
    grade: GradeOut | None
    created_at: datetime
    finished_at: datetime | None


class RoomChecksOut(BaseModel):
    """The room's standing on its lesson's exercise: best score, checks so far, hints revealed by failures."""

    exercise: str = Field(description="course/slug")
    title: str
    points: int
    test_count: int
    best_score: float | None
    attempts: int
    failed: int
    passed_at: datetime | None
    hints: list[str] = Field(description="Hints revealed so far (one more every hint_after failed checks)")
    hint_count: int
    hint_after: int
    next_hint_in: int | None = Field(description="Failed checks until the next hint; null when none is left")
    checks: list[CheckOut] = Field(description="Most recent first (at most 20)")


class ExerciseOut(BaseModel):
    id: str = Field(description="course/slug")
    title: str
    points: int


class CellOut(BaseModel):
    exercise: str
    best: float | None = Field(description="Best score (points) over the student's checks; null: never checked")
    attempts: int
    first_pass_at: datetime | None = Field(description="When a check first earned every point")


class StudentGradesOut(BaseModel):
    id: str
    name: str
    total: float
    cells: list[CellOut]


class GradebookOut(BaseModel):
    class_id: str
    exercises: list[ExerciseOut]
    students: list[StudentGradesOut] = Field(description="The class's students (never its instructors), by name")
