"""Request and response bodies of the sign-in and account API (they are the OpenAPI schema)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from classroom.api import NAME_PATTERN, SECRET_PATTERN, Body


class UserOut(BaseModel):
    id: uuid.UUID
    display_name: str
    role: str


class JoinIn(Body):
    join_code: str = Field(min_length=1, max_length=32, pattern=NAME_PATTERN)
    name: str = Field(min_length=1, max_length=80, pattern=NAME_PATTERN)
    return_code: str | None = Field(
        default=None,
        max_length=32,
        pattern=NAME_PATTERN,
        description="When the name is taken in the class (409 name_taken): your return code, to be you again",
    )
    password: str | None = Field(
        default=None, max_length=1024, pattern=SECRET_PATTERN, description="Instead of return_code, if you set one"
    )


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
    archived: bool = False


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


class ReturnLinkOut(BaseModel):
    user_id: uuid.UUID
    display_name: str
    link: str = Field(description="Opening it on any device signs in as this student (keep it private)")
    code: str = Field(description="With the class code and the name, joining again gets this account back")


class ReturnIn(Body):
    token: str = Field(min_length=20, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")


class PasswordIn(Body):
    password: str = Field(min_length=8, max_length=1024, pattern=SECRET_PATTERN)
    current_password: str | None = Field(
        default=None, max_length=1024, description="Needed to change a password that is already set"
    )
