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
    file: str | None = Field(
        default=None, min_length=1, max_length=255, description="The file the student's cursor is in"
    )
    line: int | None = Field(default=None, ge=1, le=1_000_000, description="The cursor's line (1-based)")


class HandOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    room_id: uuid.UUID | None
    note: str
    file: str | None = None
    line: int | None = None
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
    version: int = Field(description="Grows with every change (pages get changes pushed on the class channel)")
    roster: list[SessionMember]
    rooms: list[SessionRoom] = Field(description="The rooms this user may open, with their modes")
    hand_queue: int = Field(description="How many hands are up")
    my_hand: HandOut | None
    followed_room: uuid.UUID | None


class ErrorCluster(BaseModel):
    key: str
    type: str
    message: str = Field(description="Normalised: names and numbers replaced; punctuation and type names kept")
    line: int | None
    count: int
    students: int
    example: str


class ClusterPerson(BaseModel):
    user_id: uuid.UUID
    name: str
    room_id: uuid.UUID | None = Field(description="The room of their latest failure with this error")


class RankedCluster(ErrorCluster):
    exercise: str | None
    sparkline: list[int] = Field(description="Occurrences per minute over the timeline's minutes")
    people: list[ClusterPerson]


class AttemptsBucket(BaseModel):
    attempts: int
    students: int = Field(description="Students who solved it with this many attempts")


class ExerciseAnalytics(BaseModel):
    exercise: str | None
    runs: int
    failures: int
    checks: int
    pass_rate: float | None
    students: int = Field(description="Students who attempted it")
    solved: int
    median_attempts_to_solve: float | None = Field(description="Over the students who solved it")
    attempts_to_solve: list[AttemptsBucket]
    mean_seconds_between_runs: float | None
    stuck: int
    top_errors: list[ErrorCluster]


class StuckStudent(BaseModel):
    user_id: uuid.UUID
    name: str
    exercise: str | None
    reason: str
    attempts: int
    consecutive_failures: int
    last_error: str | None
    last_run_at: datetime | None
    room_id: uuid.UUID | None


class AnalyticsTotals(BaseModel):
    runs: int
    failures: int
    students: int


class Timeline(BaseModel):
    start: datetime = Field(description="The first minute")
    minutes: int
    runs: list[int] = Field(description="Runs and checks per minute")


class AnalyticsOut(BaseModel):
    class_id: uuid.UUID
    generated_at: datetime
    totals: AnalyticsTotals
    timeline: Timeline
    clusters: list[RankedCluster] = Field(description="The class's error clusters, most frequent first")
    exercises: list[ExerciseAnalytics]
    stuck: list[StuckStudent]

    @classmethod
    def of(cls, snapshot: dict[str, Any]) -> AnalyticsOut:
        return cls.model_validate(snapshot)
