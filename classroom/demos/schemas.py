"""Request and response bodies of the fork API (they are its OpenAPI schema)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ForkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["add", "replace", "rename"] = Field(
        default="add",
        description="add: copy the files (409 when a name is taken in your room); replace: your room's files "
        "become the demo's (a new file set; the old ones stay in the room's history); rename: keep your files "
        "and add the demo's, renaming those whose names are taken (main.py -> main_demo.py)",
    )


class ForkAllIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["replace", "rename"] = Field(
        default="rename", description="How each student's room takes the files (see ForkIn.mode)"
    )


class ForkPreviewOut(BaseModel):
    source_room_id: uuid.UUID
    target_room_id: uuid.UUID | None = Field(description="Your personal room (null: it is made when you fork)")
    target_room_name: str | None
    files: list[str] = Field(description="The demo's files now")
    clashes: list[str] = Field(description="Demo files whose names your room already has")


class ForkOut(BaseModel):
    id: uuid.UUID
    source_room_id: uuid.UUID
    target_room_id: uuid.UUID
    mode: str
    files: dict[str, str] = Field(description="demo file name -> its name in your room")
    state_vector: str = Field(description="Base64 of the demo document's Yjs state vector that was copied")


class ForkAllOut(BaseModel):
    forked: int = Field(description="How many students' rooms received the demo")
    rooms: list[uuid.UUID]
