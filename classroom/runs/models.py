"""The run API's request and response bodies (they are also its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_FILES = 50
MAX_STDIN = 64 * 1024


class FileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255, description="A plain relative path, e.g. main.py or pkg/mod.py")
    content: str = Field(max_length=512 * 1024)


class RunIn(BaseModel):
    """A run: the files of a room's document (``room_id``), or ``files``, or a single ``code`` (main.py)."""

    model_config = ConfigDict(extra="forbid")
    room_id: str | None = Field(default=None, description="Run the room's files as they are now")
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
        if self.room_id is None and len(given) != 1:
            raise ValueError("give exactly one of room_id, files or code")
        if any(len(a) > 4096 for a in self.args):
            raise ValueError("args: each argument is at most 4096 characters")
        return self


class RunAccepted(BaseModel):
    id: str
    status: str = Field(description="queued (or already running)")
    queue_position: int = Field(description="1-based place in the queue; 0 once started")


class RunErrorOut(BaseModel):
    type: str
    message: str
    line: int | None


class RunOut(BaseModel):
    id: str
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
    status: str
    verdict: str | None
    exit_code: int | None
    wall_ms: int | None
    created_at: datetime
    finished_at: datetime | None


class RoomRunsOut(BaseModel):
    runs: list[RunSummary]


class CancelOut(BaseModel):
    id: str
    cancelled: bool = Field(description="False when the run had already finished")
