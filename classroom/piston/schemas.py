"""Piston v2's request and response bodies (the subset we serve), as its clients send and read them.

The models document the API; the routes parse bodies themselves so that bad input is answered as Piston does:
``400 {message}`` (ours add ``error`` and ``detail``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel

LANGUAGE = "python"
ALIASES = ("py", "py3", "python3", "python3.11")
# Piston's signal names (the WebSocket ``signal`` message takes one of them).
SIGNALS = (
    "SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCLD", "SIGCONT", "SIGEMT", "SIGFPE", "SIGHUP", "SIGILL",
    "SIGINFO", "SIGINT", "SIGIO", "SIGIOT", "SIGKILL", "SIGLOST", "SIGPIPE", "SIGPOLL", "SIGPROF", "SIGPWR",
    "SIGQUIT", "SIGSEGV", "SIGSTKFLT", "SIGSTOP", "SIGTSTP", "SIGSYS", "SIGTERM", "SIGTRAP", "SIGTTIN",
    "SIGTTOU", "SIGUNUSED", "SIGURG", "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGXCPU", "SIGXFSZ", "SIGWINCH",
)  # fmt: skip


class Runtime(BaseModel):
    language: str
    version: str
    aliases: list[str]


class RuntimesOut(RootModel[list[Runtime]]):
    """The runtimes served (a JSON array, as Piston answers)."""


class FileIn(BaseModel):
    name: str | None = Field(default=None, description="Default file{i}.code; the first file is run")
    content: str
    encoding: str | None = Field(default=None, description="utf8 (default), base64 or hex")


class ExecuteIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    language: str = Field(description="python (or an alias: py, py3, python3)")
    version: str = Field(description="A version or range matching ours, e.g. 3.11.2, 3.x or *")
    files: list[FileIn]
    stdin: str | None = None
    args: list[str] | None = None
    run_timeout: float | None = Field(default=None, description="Wall ms; above our maximum it is clamped")
    run_cpu_time: float | None = Field(default=None, description="CPU ms; above our maximum it is clamped")
    run_memory_limit: float | None = Field(
        default=None, description="Bytes; -1 (piston-client's default) means our maximum, never unlimited"
    )


class StageOut(BaseModel):
    stdout: str
    stderr: str
    output: str
    code: int | None
    signal: str | None
    message: str | None
    status: str | None = Field(description="null, RE, SG, TO, OL or XX (Piston's)")
    cpu_time: int | None
    wall_time: int | None
    memory: int | None


class ExecuteOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    language: str
    version: str
    run: StageOut
    clamped: dict[str, dict[str, float]] | None = Field(
        default=None, description="Limits asked above our maxima: {name: {asked, used}} (ours, not Piston's)"
    )
