"""Response bodies of the lessons API (they are the OpenAPI schema)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LessonOut(BaseModel):
    course: str
    slug: str
    version: int
    title: str
    body: str
    points: int
    starter_files: dict[str, str]
    hints: list[str] = Field(description="All hints for instructors; students get theirs from the room's checks")
    hint_count: int = 0
    test_count: int = Field(default=0, description="Hidden tests a check runs (0: the lesson has no check)")
