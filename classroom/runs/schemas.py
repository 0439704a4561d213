"""The run API's request and response bodies (they are also its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_FILES = 50
MAX_NAME = 255
MAX_FILE_CHARS = 512 * 1024
MAX_STDIN = 64 * 1024


class FileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1, max_length=MAX_NAME, description="A plain relative path, e.g. main.py or pkg/mod.py"
    )
    content: str = Field(max_length=MAX_FILE_CHARS)


class RunIn(BaseModel):
    """A run: the files of a room's document (``room_id``), or ``files``, or a single ``code`` (main.py)."""

    model_config = ConfigDict(extra="forbid")
    room_id: str | None = Field(default=None, description="Run the room's files as they are now")
    class_id: str | None = Field(
        default=None,
        description="The class the run belongs to, for files or code (a room's run belongs to the room's class). "
        "Students must give a room or a class they are a member of",
    )
    files: list[FileIn] | None = Field(default=None, max_length=MAX_FILES)
    code: str | None = Field(default=None, max_length=512 * 1024, description="Shorthand for files=[main.py]")
    entry: str | None = Field(default=None, max_length=255, description="Entry file (default main.py)")
    stdin: str = Field(default="", max_length=MAX_STDIN, description="Written to the program's stdin first")
    args: list[str] = Field(default_factory=list, max_length=32, description="sys.argv[1:]")
    interactive: bool = Field(
        default=False,
        description="Keep stdin open after `stdin` so the stream's client can answer input() "
        "(send {type: stdin} / {type: stdin_eof}); otherwise stdin ends after `stdin`",
    )

    @model_validator(mode="after")
    def _one_source(self) -> RunIn:
        given = [n for n in ("files", "code") if getattr(self, n) is not None]
        if self.room_id is not None and given:
            raise ValueError("room_id runs the room's document: do not send files or code with it")
        if self.room_id is not None and self.class_id is not None:
            raise ValueError("room_id already names the class: do not send class_id with it")
        if self.room_id is None and len(given) != 1:
            raise ValueError("give exactly one of room_id, files or code")
        if any(len(a) > 4096 for a in self.args):
            raise ValueError("args: each argument is at most 4096 characters")
        return self


class RoomRunIn(BaseModel):
    """``{type: run}`` on a room's socket (``WS /api/rooms/{id}/live``): run the room's files as they are now."""

    model_config = ConfigDict(extra="forbid", strict=True)  # a frame of our own client: no coercion
    type: Literal["run"]
    ref: str | None = Field(default=None, max_length=64, description="Echoed in the answer (accepted or error)")
    entry: str | None = Field(default=None, max_length=255)
    stdin: str = Field(default="", max_length=MAX_STDIN)
    args: list[str] = Field(default_factory=list, max_length=32)
    interactive: bool = Field(default=True, description="Keep stdin open for {type: stdin} on the same socket")


class RunAccepted(BaseModel):
    id: str
    status: str = Field(description="queued (or already running)")
    queue_position: int = Field(description="1-based place in the queue; 0 once started")


class RunErrorOut(BaseModel):
    type: str
    message: str
    line: int | None


class TestResultOut(BaseModel):
    name: str
    passed: bool
    message: str = Field(description="For the student: why it failed (expected vs got where the test says)")
    points: float = Field(description="The test's weight among the lesson's tests")


class GradeOut(BaseModel):
    loaded: bool = Field(description="False when the program failed before it could be tested (error says why)")
    error: str
    tests: list[TestResultOut]


class RunOut(BaseModel):
    id: str
    kind: str = Field(default="run", description="run, or grade for a check of the lesson's hidden tests")
    exercise: str | None = Field(default=None, description="course/slug of the room's lesson")
    grade: GradeOut | None = Field(default=None, description="A check's per-test results")
    score: float | None = Field(default=None, description="A check's fraction (0..1) of the lesson's points")
    status: str = Field(description="queued, running or finished")
    verdict: str | None = Field(
        description="ok, runtime_error, time_limit, memory_limit, output_limit, "
        "cancelled or internal_error; null until finished"
    )
    exit_code: int | None
    signal: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    error: RunErrorOut | None = Field(description="The exception that ended the program, in the user's code")
    internal_reason: str | None = Field(description="Why the server could not run it (verdict internal_error)")
    wall_ms: int | None
    cpu_ms: int | None
    peak_memory_bytes: int | None
    attempts: int
    queue_position: int | None
    user_id: str
    room_id: str | None
    class_id: str | None
    entry: str
    code_hash: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunSummary(BaseModel):
    id: str
    user_id: str
    display_name: str = Field(default="", description="Who started the run, as their classmates see them")
    status: str
    verdict: str | None
    exit_code: int | None
    wall_ms: int | None
    created_at: datetime
    finished_at: datetime | None
    kind: str = Field(default="run", description="run, or grade for a check")
    score: float | None = Field(default=None, description="A check's fraction (0..1) of the lesson's points")


class RoomRunsOut(BaseModel):
    runs: list[RunSummary]


class FileOut(BaseModel):
    name: str
    content: str


class RunCodeOut(BaseModel):
    """The code a run ran, exactly as submitted (for a room run: the room's files at that moment)."""

    id: str
    entry: str
    files: list[FileOut]
    state_vector: str | None = Field(
        description="Base64 of the room document's Yjs state vector when the run was submitted (null for runs of "
        "given files): the pinned document state the files were read from"
    )


class CancelOut(BaseModel):
    id: str
    cancelled: bool = Field(description="False when the run had already finished")
