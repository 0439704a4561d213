"""Request and response bodies of the accounts, classes, rooms and lessons API (they are the OpenAPI schema)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Text a person typed: no control characters and no lone surrogates (which no database can store), and at
# least one visible character. Declared in the schema so that clients (and schemathesis) know the rule.
_BAD = r"\x00-\x1f\x7f-\x9f\ud800-\udfff"
NAME_PATTERN = rf"^[^{_BAD}]*[^\s{_BAD}][^{_BAD}]*$"
SECRET_PATTERN = r"^[^\x00\ud800-\udfff]+$"


class Body(BaseModel):
    # The Python engine: the Rust one cannot express the surrogate range of the patterns above.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class UserOut(BaseModel):
    id: uuid.UUID
    display_name: str
    role: str


class JoinIn(Body):
    join_code: str = Field(min_length=1, max_length=32, pattern=NAME_PATTERN)
    name: str = Field(min_length=1, max_length=80, pattern=NAME_PATTERN)


class LoginIn(Body):
    username: str = Field(min_length=1, max_length=120, pattern=NAME_PATTERN)
    password: str = Field(min_length=1, max_length=1024, pattern=SECRET_PATTERN)


class SessionOut(BaseModel):
    token: str = Field(description="Bearer JWT for API clients (aud classroom-api); browsers use the cookie")
    user: UserOut


class OkOut(BaseModel):
    ok: bool = True


class ClassBrief(BaseModel):
    id: uuid.UUID
    name: str
    role: str


class MeOut(BaseModel):
    user: UserOut
    classes: list[ClassBrief]


class TokenOut(BaseModel):
    token: str
    expires_in: int


class ApiTokenIn(Body):
    name: str = Field(min_length=1, max_length=80, pattern=NAME_PATTERN)


class ApiTokenOut(BaseModel):
    id: uuid.UUID
    name: str
    token: str = Field(description="Shown once; only its hash is stored")


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


class LessonOut(BaseModel):
    course: str
    slug: str
    version: int
    title: str
    body: str
    points: int
    starter_files: dict[str, str]
    hints: list[str]


class AuthConfigOut(BaseModel):
    password: bool = True
    oidc: bool
    oidc_name: str | None


class NewUserIn(Body):
    username: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._@-]+$")
    display_name: str = Field(min_length=1, max_length=80, pattern=NAME_PATTERN)
    password: str = Field(min_length=10, max_length=1024, pattern=SECRET_PATTERN)
    role: Literal["instructor", "admin"] = "instructor"


class NewUserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
