"""Request and response bodies of the classes, roster and rooms API (they are the OpenAPI schema)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from classroom.api import NAME_PATTERN, Body


class ClassIn(Body):
    name: str = Field(min_length=1, max_length=120, pattern=NAME_PATTERN)
    course: str | None = Field(default=None, max_length=120, pattern=r"^[a-z0-9][a-z0-9-]*$")


class ClassCreated(BaseModel):
    id: uuid.UUID
    join_code: str


class RoomBrief(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    lesson: str | None = None
    archived: bool = False


class ClassPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=120, pattern=NAME_PATTERN)
    archived: bool | None = Field(default=None, description="Archive (no more joins, gone from students' lists)")


class ClassState(BaseModel):
    id: uuid.UUID
    name: str
    archived: bool


class RoomPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=120, pattern=NAME_PATTERN)
    archived: bool | None = Field(default=None, description="Archive (kept, but nobody opens it any more)")


class MembersIn(Body):
    members: list[uuid.UUID] = Field(min_length=2, max_length=3, description="The pair room's students (2–3)")


class MembersOut(BaseModel):
    members: list[uuid.UUID]
    removed: list[uuid.UUID] = Field(description="Who left the room (their open editors close)")


class PairsIn(Body):
    students: list[uuid.UUID] | None = Field(
        default=None, max_length=1000, description="Whom to pair, in this order; default: every unpaired student"
    )
    lesson: str | None = Field(
        default=None, max_length=200, pattern=r"^[a-z0-9-]+/[a-z0-9-]+$", description="course/slug of a lesson"
    )


class PairRoom(BaseModel):
    id: uuid.UUID
    name: str
    members: list[uuid.UUID]


class PairsOut(BaseModel):
    rooms: list[PairRoom] = Field(description="The new pair rooms (an odd one out joins the last: a group of 3)")


class LessonBrief(BaseModel):
    slug: str
    title: str


class OnlineUser(BaseModel):
    id: uuid.UUID
    display_name: str


class ClassOut(BaseModel):
    id: uuid.UUID
    name: str
    course: str | None
    join_code: str | None = Field(description="Only for the class's instructors; null otherwise")
    rooms: list[RoomBrief]
    lessons: list[LessonBrief]
    online: list[OnlineUser]


class JoinCodeOut(BaseModel):
    join_code: str


class RosterEntryOut(BaseModel):
    id: uuid.UUID
    display_name: str
    role: str
    joined_at: datetime


class RosterOut(BaseModel):
    members: list[RosterEntryOut]


class RemovedOut(BaseModel):
    removed: uuid.UUID
    closed_sockets: int


class RoomIn(Body):
    name: str = Field(min_length=1, max_length=120, pattern=NAME_PATTERN)
    kind: Literal["personal", "pair", "demo"]
    members: list[uuid.UUID] = Field(default_factory=list, max_length=3)
    lesson: str | None = Field(
        default=None, max_length=200, pattern=r"^[a-z0-9-]+/[a-z0-9-]+$", description="course/slug of a lesson"
    )


class Created(BaseModel):
    id: uuid.UUID


class RoomLesson(BaseModel):
    slug: str
    title: str
    body: str


class MemberOut(BaseModel):
    id: uuid.UUID
    display_name: str
    role: str


class RoomOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    class_id: uuid.UUID
    lesson: RoomLesson | None
    members: list[MemberOut]
    can_write: bool
