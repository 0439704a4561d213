"""Request and response bodies of the control-plane and analytics routes (they are the OpenAPI schema)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HandIn(Body):
    room_id: uuid.UUID | None = Field(default=None, description="The room the student needs help in (optional)")
    note: str = Field(default="", max_length=500)


class HandOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    room_id: uuid.UUID | None
    note: str
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: uuid.UUID | None = None


class HandsOut(BaseModel):
    hands: list[HandOut] = Field(description="Open hands, oldest first")


class ModeIn(Body):
    mode: Literal["pair", "demo"]


class FollowIn(Body):
    room_id: uuid.UUID | None = Field(description="A demo room of the class every student follows; null stops")


class SessionMember(BaseModel):
    user_id: uuid.UUID
    display_name: str
    role: str


class SessionRoom(BaseModel):
    id: uuid.UUID
    name: str
    mode: str = Field(description="personal, pair or demo")
    lesson: str | None


class ClassSessionOut(BaseModel):
    class_id: uuid.UUID
    name: str
    version: int = Field(description="Grows with every change: poll and re-render when it moved")
    roster: list[SessionMember]
    rooms: list[SessionRoom] = Field(description="The rooms this user may open, with their modes")
    hand_queue: int = Field(description="How many hands are up")
    my_hand: HandOut | None
    followed_room: uuid.UUID | None


class ErrorCluster(BaseModel):
    key: str
    type: str
    message: str = Field(description="Normalised: names, numbers and addresses replaced by placeholders")
    line: int | None
    count: int
    students: int
    example: str


class ExerciseAnalytics(BaseModel):
    exercise: str | None
    runs: int
    failures: int
    pass_rate: float | None
    students: int
    solved: int
    median_attempts_to_solve: float | None
    mean_seconds_between_runs: float | None
    stuck: int
    top_errors: list[ErrorCluster]


class StuckStudent(BaseModel):
    user_id: uuid.UUID
    exercise: str | None
    reason: str
    attempts: int
    consecutive_failures: int
    last_error: str | None
    last_run_at: datetime | None


class AnalyticsTotals(BaseModel):
    runs: int
    failures: int
    students: int


class AnalyticsOut(BaseModel):
    class_id: uuid.UUID
    generated_at: datetime
    totals: AnalyticsTotals
    exercises: list[ExerciseAnalytics]
    stuck: list[StuckStudent]

    @classmethod
    def of(cls, snapshot: dict[str, Any]) -> AnalyticsOut:
        return cls.model_validate(snapshot)
