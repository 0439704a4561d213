"""The Piston v2 API over our run service: reading an execute request as Piston does, and answering a finished
run in Piston's result shape.

An execution is a normal run (``classroom.runs``). Differences from Piston, all on the safe side: limits above
our maxima are *clamped* (Piston refuses them) and reported in ``clamped`` and the ``X-Classroom-Clamped``
header; ``run_memory_limit: -1`` (piston-client's default: "no limit") means our maximum; the network is
never on; only Python is served (any other language is Piston's "runtime is unknown"). Python is not
compiled, so ``compile_*`` values are checked as numbers and otherwise ignored.

Our verdict → Piston's run ``status`` / ``signal`` / ``message`` (isolate's, which Piston passes on):
ok → null (code 0); runtime_error → ``RE`` "Exited with error status n" (or ``SG`` with the signal's name);
time_limit → ``TO`` SIGKILL "Time limit exceeded"; memory_limit → ``SG`` SIGKILL "Memory limit exceeded";
output_limit → ``OL`` SIGKILL "Output limit exceeded"; cancelled (a WebSocket signal) → ``SG`` with that signal;
internal_error → ``XX`` with the reason.
"""

from __future__ import annotations

import base64
import binascii
import signal as signals
from dataclasses import dataclass, field
from typing import Any

from classroom.piston.schemas import ALIASES, LANGUAGE
from classroom.runs.limits import Clamped, Maxima, clamp
from classroom.runs.runtime import python_version
from classroom.settings import Settings
from classroom.tables import Run

MAX_FILES = 50


class PistonError(Exception):
    """A request Piston refuses: answered ``400 {message}`` (or an ``error`` message on the WebSocket)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def version() -> str:
    return python_version()


def runtimes() -> list[dict[str, Any]]:
    return [{"language": LANGUAGE, "version": version(), "aliases": list(ALIASES)}]


def version_matches(asked: str, ours: str) -> bool:
    """Piston matches versions as semver ranges; we take the forms clients send: ``*``, ``x``, ``3``, ``3.x``,
    ``3.11``, ``3.11.2`` (a prefix of our version, ``x``/``*`` matching any part)."""
    asked = asked.strip().lstrip("=v")
    if asked in ("*", "x", "X", "latest", ""):
        return True
    parts, mine = asked.split("."), ours.split(".")
    if len(parts) > len(mine):
        return False
    return all(p in ("x", "X", "*") or p == m for p, m in zip(parts, mine, strict=False))


@dataclass
class Prepared:
    files: dict[str, str]
    entry: str
    stdin: str
    args: list[str]
    wall_seconds: float
    cpu_seconds: float
    memory_bytes: int
    clamped: list[Clamped] = field(default_factory=list)

    def run_limits(self) -> dict[str, float]:
        return {"wall_seconds": self.wall_seconds, "cpu_seconds": self.cpu_seconds, "memory_bytes": self.memory_bytes}

    def clamped_out(self) -> dict[str, dict[str, float]] | None:
        return {c.name: {"asked": c.asked, "used": c.used} for c in self.clamped} or None


def _file_text(index: int, item: dict[str, Any]) -> str:
    content, encoding = item["content"], item.get("encoding") or "utf8"
    if encoding not in ("utf8", "base64", "hex"):
        encoding = "utf8"  # as Piston: an unknown encoding is taken as utf8
    if encoding == "utf8":
        return str(content)
    try:
        raw = base64.b64decode(content, validate=True) if encoding == "base64" else bytes.fromhex(content)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise PistonError(f"files[{index}].content is not valid {encoding} (or not UTF-8 text once decoded)") from None


def _limit(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if not value:  # as Piston: 0, null or absent means "not asked"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PistonError(f"If specified, {name} must be a number")
    return float(value)


def prepare(body: Any, settings: Settings) -> Prepared:
    """Validate an execute request (``POST /execute`` body or WebSocket ``init``) in Piston's order."""
    if not isinstance(body, dict):
        raise PistonError("request body must be a JSON object")
    language, asked_version, files = body.get("language"), body.get("version"), body.get("files")
    if not language or not isinstance(language, str):
        raise PistonError("language is required as a string")
    if language != LANGUAGE and language not in ALIASES:
        # Before the version check: piston-client sends no version for a language the runtimes do not list.
        raise PistonError(f"{language}-{asked_version if isinstance(asked_version, str) else '*'} runtime is unknown")
    if not asked_version or not isinstance(asked_version, str):
        raise PistonError("version is required as a string")
    if not isinstance(files, list) or not files:
        raise PistonError("files is required as an array")
    if len(files) > MAX_FILES:
        raise PistonError(f"at most {MAX_FILES} files")
    for i, item in enumerate(files):
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise PistonError(f"files[{i}].content is required as a string")
    if not version_matches(asked_version, version()):
        raise PistonError(f"{language}-{asked_version} runtime is unknown")
    named: dict[str, str] = {}
    for i, item in enumerate(files):
        name = item.get("name") or f"file{i}.code"
        if not isinstance(name, str):
            raise PistonError(f"files[{i}].name must be a string")
        if name in named:
            raise PistonError(f"files[{i}].name {name!r} appears twice")
        named[name] = _file_text(i, item)
    stdin, args = body.get("stdin"), body.get("args")
    if stdin is not None and not isinstance(stdin, str):
        raise PistonError("stdin must be a string")
    if args is not None and (not isinstance(args, list) or not all(isinstance(a, str) for a in args)):
        raise PistonError("args must be an array of strings")
    if args is not None and (len(args) > 32 or any(len(a) > 4096 for a in args)):
        raise PistonError("args: at most 32 arguments of at most 4096 characters")
    for name in ("compile_timeout", "compile_cpu_time", "compile_memory_limit"):
        _limit(body, name)
    maxima = Maxima.of(settings)
    clamped: list[Clamped] = []
    timeout, cpu, memory = (_limit(body, n) for n in ("run_timeout", "run_cpu_time", "run_memory_limit"))
    wall_ms = clamp("run_timeout", timeout, maxima.wall_seconds * 1000, clamped)
    cpu_ms = clamp("run_cpu_time", cpu, maxima.cpu_seconds * 1000, clamped)
    memory_bytes = clamp("run_memory_limit", memory, maxima.memory_bytes, clamped)
    entry = next(iter(named))
    text = stdin or ""
    return Prepared(
        files=named,
        entry=entry,
        stdin=text,
        args=list(args or []),
        wall_seconds=wall_ms / 1000,
        cpu_seconds=cpu_ms / 1000,
        memory_bytes=int(memory_bytes),
        clamped=clamped,
    )


def signal_name(number: int | None) -> str | None:
    if not number:
        return None
    try:
        return signals.Signals(number).name
    except ValueError:
        return None


def run_result(run: Run, *, output: str | None = None, sent_signal: str | None = None) -> dict[str, Any]:
    """Piston's ``run`` stage of a finished run (see the module docstring for the mapping). ``output`` is the
    interleaved stdout+stderr when known (a run streamed here), else stdout then stderr."""
    stdout, stderr = run.stdout or "", run.stderr or ""
    verdict, code, sig = run.verdict, run.exit_code, signal_name(run.signal)
    status = message = None
    if verdict == "runtime_error":
        status, message = (
            ("SG", f"Caught fatal signal {run.signal}") if sig else ("RE", f"Exited with error status {code}")
        )
    elif verdict == "time_limit":
        status, message, sig = "TO", "Time limit exceeded", "SIGKILL"
    elif verdict == "memory_limit":
        status, message, sig = "SG", "Memory limit exceeded", "SIGKILL"
    elif verdict == "output_limit":
        status, message, sig = "OL", "Output limit exceeded", "SIGKILL"
    elif verdict == "cancelled":
        status, message, sig = "SG", "Stopped by a signal", sent_signal or "SIGKILL"
    elif verdict == "internal_error":
        status, message = "XX", run.internal_reason or "the run failed on our side"
    return {
        "stdout": stdout,
        "stderr": stderr,
        "output": output if output is not None else stdout + stderr,
        "code": code if sig is None else None,
        "signal": sig,
        "message": message,
        "status": status,
        "cpu_time": run.cpu_ms,
        "wall_time": run.wall_ms,
        "memory": run.peak_memory_bytes,
    }
