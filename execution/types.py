"""The data the execution engine takes and gives: what to run, within which limits, and what happened."""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

MiB = 1024 * 1024

Stream = Literal["stdout", "stderr"]


class Verdict(enum.StrEnum):
    """How a run ended. A user's failure is one of these, never an exception."""

    OK = "ok"
    RUNTIME_ERROR = "runtime_error"
    TIME_LIMIT = "time_limit"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    CANCELLED = "cancelled"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run. There is deliberately no network switch: the network is always off."""

    wall_seconds: float = 10.0
    cpu_seconds: float = 5.0
    memory_bytes: int = 256 * MiB
    pids: int = 64
    output_bytes: int = 1 * MiB
    file_size_bytes: int = 16 * MiB
    tmpfs_bytes: int = 64 * MiB
    cpu_cores: float = 1.0

    def __post_init__(self) -> None:
        for name in ("wall_seconds", "cpu_seconds", "cpu_cores"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be > 0")
        for name in ("memory_bytes", "pids", "output_bytes", "file_size_bytes", "tmpfs_bytes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"Limits.{name} must be >= 1")
        if self.memory_bytes < 16 * MiB:
            raise ValueError("Limits.memory_bytes must be >= 16 MiB (the interpreter needs it)")
        if self.pids < 4:
            raise ValueError("Limits.pids must be >= 4")

    def lowered(self, asked: Mapping[str, float]) -> Limits:
        """These limits with each of :data:`LOWERABLE` that ``asked`` names taken down to the asked value.

        A request can only tighten a limit, never lift it: a value above the current one, a missing one or a
        non-positive one leaves the current limit as it is. Unknown names are ignored."""
        changes: dict[str, Any] = {}
        for name in LOWERABLE:
            value = asked.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                continue
            current = getattr(self, name)
            if value < current:
                changes[name] = type(current)(value)
        if "memory_bytes" in changes:
            changes["memory_bytes"] = max(int(changes["memory_bytes"]), 16 * MiB)  # the interpreter's floor
        return replace(self, **changes) if changes else self


# The limits one run may ask to lower (API clients such as Judge0's and Piston's send them per request).
LOWERABLE = ("wall_seconds", "cpu_seconds", "memory_bytes", "output_bytes")


@dataclass(frozen=True)
class HiddenTest:
    """One hidden test of a grade run: Python run by the grader (never by the program) with ``main`` standing for
    the student's module; ``points`` is its weight; ``message`` is shown to the student when it fails."""

    name: str
    code: str
    points: float = 1.0
    message: str = ""


@dataclass(frozen=True)
class GradeSpec:
    """What makes a run a *grade* run: the hidden tests, and how long each question to the program may take."""

    tests: tuple[HiddenTest, ...]
    call_seconds: float = 2.0
    module: str = "main"

    def __post_init__(self) -> None:
        if not self.tests:
            raise ValueError("a grade run needs at least one hidden test")
        if not self.call_seconds > 0:
            raise ValueError("GradeSpec.call_seconds must be > 0")


@dataclass(frozen=True)
class TestResult:
    """How one hidden test went: its name, whether it passed, the message for the student, its weight."""

    name: str
    passed: bool
    message: str
    points: float


@dataclass(frozen=True)
class GradeReport:
    """The grader's report of a grade run. ``loaded`` is False when the program failed before it could be asked
    anything (``error`` says why, every test failed with it)."""

    loaded: bool
    error: str
    tests: tuple[TestResult, ...]

    @property
    def score_fraction(self) -> float:
        total = sum(t.points for t in self.tests)
        return sum(t.points for t in self.tests if t.passed) / total if total else 0.0


@dataclass(frozen=True)
class RunSpec:
    """One program to run: its files, the entry file, initial stdin, argv, language and limits.

    ``stdin`` is written before the program starts. With ``stdin_open`` the program's stdin stays open
    for :meth:`execution.protocol.Sandbox.send_stdin` (interactive ``input()``); otherwise it ends after
    ``stdin``.
    """

    files: Mapping[str, str]
    entry: str = "main.py"
    stdin: str = ""
    args: tuple[str, ...] = ()
    language: str = "python"
    limits: Limits = field(default_factory=Limits)
    stdin_open: bool = False
    grade: GradeSpec | None = None

    def __post_init__(self) -> None:
        if self.grade is not None and self.stdin_open:
            raise ValueError("a grade run takes no interactive stdin")
        if self.grade is not None and self.entry != self.grade.module + ".py":
            raise ValueError(f"a grade run's entry must be {self.grade.module}.py")
        for path in self.files:
            check_relative_path(path)
        if self.entry not in self.files:
            raise ValueError(f"entry file {self.entry!r} is not among the files")
        if sum(len(c.encode()) for c in self.files.values()) > self.limits.tmpfs_bytes:
            raise ValueError("the files are larger than the sandbox's tmpfs")


def check_relative_path(path: str) -> None:
    """Refuse anything but a plain relative path inside the work directory."""
    norm = posixpath.normpath(path)
    if (
        not path
        or path.startswith("/")
        or norm != path
        or norm == "."
        or norm.split("/")[0] == ".."
        or "\0" in path
        or len(path) > 255
    ):
        raise ValueError(f"bad file path {path!r}: use a plain relative path like 'pkg/mod.py'")


@dataclass(frozen=True)
class Chunk:
    """A piece of output as it was produced: which stream, the bytes, and ms since the run started."""

    stream: Stream
    data: bytes
    t_ms: float


OnChunk = Callable[[Chunk], "Awaitable[None] | None"]


@dataclass(frozen=True)
class PythonError:
    """The exception that ended a Python program, located in the user's own frame."""

    type: str
    message: str
    line: int | None
    file: str | None


@dataclass(frozen=True)
class RunResult:
    """What happened: verdict, exit status, resources used and the (capped) output.

    ``signal`` is set when the program was killed by one (``exit_code`` is then ``None``); ``error`` is the
    Python exception located in the user's frame; ``detail`` is a one-line reason for a limit verdict.
    ``grade`` is the grader's report of a grade run (None for a plain run, or when no report came out: a limit
    stopped the grading, and then the verdict says which).
    """

    verdict: Verdict
    exit_code: int | None
    signal: int | None
    wall_ms: float
    cpu_ms: float
    peak_memory_bytes: int | None
    stdout: str
    stderr: str
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    error: PythonError | None = None
    detail: str = ""
    grade: GradeReport | None = None
