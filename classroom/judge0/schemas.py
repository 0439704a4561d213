"""Judge0 CE's request and response bodies (the subset we serve), as its clients send and read them.

These models document the API (OpenAPI) and type the service; the routes parse bodies themselves so that bad
input is answered in Judge0's shapes: ``422 {field: [message, ...]}`` for a submission's fields and
``400 {error: message}`` for the request as a whole (ours add ``detail``, the same message).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

# Judge0 CE 1.13.1: the version whose language ids its SDKs know (Python 3 is 71 there).
JUDGE0_VERSION = "1.13.1"
PYTHON_ID = 71
MAX_BATCH = 20
# What GET /submissions/{token} returns when no ``fields`` are asked (Judge0's own default).
DEFAULT_FIELDS = ("token", "stdout", "time", "memory", "stderr", "compile_output", "message", "status")


class Status(BaseModel):
    id: int
    description: str


# Judge0's statuses, ids and descriptions exactly as it defines them.
STATUSES: tuple[Status, ...] = tuple(
    Status(id=i, description=d)
    for i, d in (
        (1, "In Queue"),
        (2, "Processing"),
        (3, "Accepted"),
        (4, "Wrong Answer"),
        (5, "Time Limit Exceeded"),
        (6, "Compilation Error"),
        (7, "Runtime Error (SIGSEGV)"),
        (8, "Runtime Error (SIGXFSZ)"),
        (9, "Runtime Error (SIGFPE)"),
        (10, "Runtime Error (SIGABRT)"),
        (11, "Runtime Error (NZEC)"),
        (12, "Runtime Error (Other)"),
        (13, "Internal Error"),
        (14, "Exec Format Error"),
    )
)
STATUS_BY_ID = {s.id: s for s in STATUSES}


class SubmissionIn(BaseModel):
    """A submission as Judge0 takes it. With ``?base64_encoded=true`` the three text fields are base64."""

    model_config = ConfigDict(extra="allow")
    source_code: str = Field(description="The program (Python 3)")
    language_id: int = Field(description=f"{PYTHON_ID} (Python); any other id is refused with Judge0's 422")
    stdin: str | None = None
    expected_output: str | None = Field(default=None, description="Compared with stdout: Accepted / Wrong Answer")
    command_line_arguments: str | None = Field(default=None, description="Split like a shell into sys.argv[1:]")
    cpu_time_limit: float | None = Field(default=None, description="Seconds; above our maximum it is clamped")
    wall_time_limit: float | None = Field(default=None, description="Seconds; above our maximum it is clamped")
    memory_limit: float | None = Field(default=None, description="KB; above our maximum it is clamped")
    redirect_stderr_to_stdout: bool | None = None
    enable_network: bool | None = Field(default=None, description="Only false: true is refused (422)")
    number_of_runs: int | None = Field(default=None, description="Accepted; a program is run once")
    callback_url: str | None = Field(
        default=None, description="Receives the finished submission (PUT, signed); only allowlisted hosts"
    )


class BatchIn(BaseModel):
    submissions: list[SubmissionIn] = Field(max_length=MAX_BATCH)


class TokenOut(BaseModel):
    token: str


class BatchCreatedOut(RootModel[list[dict[str, Any]]]):
    """One item per submission, in order: ``{token}`` or its errors ``{field: [messages]}`` (Judge0's)."""


class SubmissionOut(BaseModel):
    """A submission as Judge0 returns it; which attributes appear follows ``?fields=`` (``*``: all)."""

    model_config = ConfigDict(extra="allow")
    token: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    compile_output: str | None = None
    message: str | None = None
    status: Status | None = None
    time: str | None = Field(default=None, description="CPU seconds, as a decimal string")
    wall_time: str | None = None
    memory: int | None = Field(default=None, description="Peak memory in KB")
    exit_code: int | None = None
    exit_signal: int | None = None


class BatchOut(BaseModel):
    submissions: list[SubmissionOut | None]


class Language(BaseModel):
    id: int
    name: str


class LanguageDetail(Language):
    is_archived: bool
    source_file: str
    compile_cmd: str | None
    run_cmd: str


class LanguagesOut(RootModel[list[Language]]):
    """The languages served (a JSON array, as Judge0 answers)."""


class StatusesOut(RootModel[list[Status]]):
    """Every status (a JSON array, as Judge0 answers)."""


class AboutOut(BaseModel):
    version: str
    homepage: str
    source_code: str
    maintainer: str


class ConfigInfoOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    enable_network: bool
    allow_enable_network: bool
    max_submission_batch_size: int
    cpu_time_limit: float
    max_cpu_time_limit: float
    wall_time_limit: float
    max_wall_time_limit: float
    memory_limit: int
    max_memory_limit: int
    enable_callbacks: bool


def field_errors(errors: dict[str, list[str]]) -> dict[str, Any]:
    """Judge0's 422 body (``{field: [messages]}``), plus our ``error`` / ``detail`` keys with the same facts."""
    text = "; ".join(f"{k} {m}" for k, ms in errors.items() for m in ms)
    return {**errors, "error": text, "detail": text}
