"""The Judge0 CE API over our run service: reading a submission, running it as a normal run, and answering in
Judge0's terms (statuses, fields, base64).

A submission is a run (``classroom.runs``: durable queue, fairness, sandboxes, limits, rate limit, audit) plus a
``judge0_submissions`` row holding what Judge0 reports back (language id, expected output, the effective limits,
callback). The Judge0 token *is* the run's id.

How our verdicts become Judge0 statuses (Judge0 derives them from isolate's result the same way):

========================  ====================================================================================
our verdict               Judge0 status
========================  ====================================================================================
queued / running          1 In Queue / 2 Processing
ok                        3 Accepted, or 4 Wrong Answer when ``expected_output`` is given and differs from
                          stdout (both compared without trailing whitespace on each line and trailing blank lines)
time_limit                5 Time Limit Exceeded
runtime_error (exit n)    11 Runtime Error (NZEC), message "Exited with error status n"
runtime_error (signal)    7 SIGSEGV (11), 8 SIGXFSZ (25), 9 SIGFPE (8), 10 SIGABRT (6), otherwise 12 (Other)
memory_limit              12 Runtime Error (Other), message "Memory limit exceeded" (Judge0 has no status of its
                          own for it: an out-of-memory kill is a SIGKILL there too)
output_limit              8 Runtime Error (SIGXFSZ), message "Output limit exceeded"
cancelled, internal_error 13 Internal Error, with the reason as message
========================  ====================================================================================

Never served: ``enable_network: true`` (422, the network is never on), languages other than Python (Judge0's
"language with id N doesn't exist"), ``additional_files`` and ``compiler_options`` (422).
"""

from __future__ import annotations

import base64
import binascii
import shlex
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from classroom.judge0.schemas import DEFAULT_FIELDS, MAX_BATCH, PYTHON_ID, STATUS_BY_ID, STATUSES, Status
from classroom.runs.limits import MIB, Clamped, Maxima, clamp
from classroom.runs.runtime import python_version
from classroom.settings import Settings
from classroom.tables import Judge0Submission, Run

ENCODED = ("source_code", "stdin", "expected_output")
# Every attribute ``fields`` may name; ``*`` selects all of them.
ALL_FIELDS = (
    "token",
    "source_code",
    "language_id",
    "language",
    "stdin",
    "expected_output",
    "stdout",
    "stderr",
    "compile_output",
    "message",
    "status",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "wall_time",
    "memory",
    "exit_code",
    "exit_signal",
    "number_of_runs",
    "cpu_time_limit",
    "wall_time_limit",
    "memory_limit",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "enable_network",
)
SIGNAL_STATUS = {11: 7, 25: 8, 8: 9, 6: 10}
UNSUPPORTED = {
    "additional_files": "additional files are not supported (one source file, Python)",
    "compiler_options": "compiler options are not supported for Python",
    "enable_per_process_and_thread_time_limit": None,  # accepted when false
    "enable_per_process_and_thread_memory_limit": None,
}


class FieldErrors(Exception):
    """A submission Judge0 would refuse: ``{field: [messages]}`` (answered 422)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


@dataclass
class Prepared:
    """A valid submission, decoded, with its effective (clamped) limits in Judge0's units."""

    source_code: str
    stdin: str
    expected_output: str | None
    args: list[str]
    cpu_time_limit: float
    wall_time_limit: float
    memory_limit: int  # KB
    redirect_stderr_to_stdout: bool
    number_of_runs: int
    callback_url: str | None
    command_line_arguments: str | None
    clamped: list[Clamped] = field(default_factory=list)

    def options(self) -> dict[str, Any]:
        return {
            "cpu_time_limit": self.cpu_time_limit,
            "wall_time_limit": self.wall_time_limit,
            "memory_limit": self.memory_limit,
            "command_line_arguments": self.command_line_arguments,
            "redirect_stderr_to_stdout": self.redirect_stderr_to_stdout,
            "number_of_runs": self.number_of_runs,
            "clamped": {c.name: {"asked": c.asked, "used": c.used} for c in self.clamped},
        }

    def run_limits(self) -> dict[str, float]:
        """The limits the slot lowers its own to (:meth:`execution.types.Limits.lowered`)."""
        return {
            "cpu_seconds": self.cpu_time_limit,
            "wall_seconds": self.wall_time_limit,
            "memory_bytes": self.memory_limit * 1024,
        }


def decode_text(name: str, value: str, errors: dict[str, list[str]]) -> str:
    """A base64 field's text; malformed base64 or non-UTF-8 content is a field error."""
    try:
        raw = base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        errors.setdefault(name, []).append("is not valid base64 (or not UTF-8 text once decoded)")
        return ""


def _number(name: str, value: Any, errors: dict[str, list[str]]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errors.setdefault(name, []).append("is not a number")
        return None
    try:
        number = float(value)
    except ValueError:
        errors.setdefault(name, []).append("is not a number")
        return None
    if not number > 0:
        errors.setdefault(name, []).append("must be greater than 0")
        return None
    return number


def prepare(body: Any, *, base64_encoded: bool, settings: Settings) -> Prepared:
    """Validate one submission body as Judge0 does; :class:`FieldErrors` lists every problem at once."""
    if not isinstance(body, dict):
        raise FieldErrors({"submission": ["must be a JSON object"]})
    errors: dict[str, list[str]] = {}
    texts: dict[str, str | None] = {}
    for name in ENCODED:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            errors.setdefault(name, []).append("must be a string")
            value = None
        if value is not None and base64_encoded:
            value = decode_text(name, value, errors)
        texts[name] = value
    if not texts["source_code"] and "source_code" not in errors:
        errors["source_code"] = ["can't be blank"]
    language_id = body.get("language_id")
    if language_id is None:
        errors.setdefault("language_id", []).append("can't be blank")
    elif isinstance(language_id, bool) or not isinstance(language_id, int | str) or str(language_id) != str(PYTHON_ID):
        errors.setdefault("language_id", []).append(f"language with id {language_id} doesn't exist")
    if body.get("enable_network") not in (None, False):
        errors.setdefault("enable_network", []).append("this option cannot be enabled")
    for name, message in UNSUPPORTED.items():
        if body.get(name) not in (None, False, ""):
            errors.setdefault(name, []).append(message or "this option cannot be enabled")
    args: list[str] = []
    command_line = body.get("command_line_arguments")
    if command_line is not None:
        if not isinstance(command_line, str):
            errors.setdefault("command_line_arguments", []).append("must be a string")
        else:
            try:
                args = shlex.split(command_line)
            except ValueError as exc:
                errors.setdefault("command_line_arguments", []).append(f"cannot be split: {exc}")
    redirect = body.get("redirect_stderr_to_stdout")
    if redirect is not None and not isinstance(redirect, bool):
        errors.setdefault("redirect_stderr_to_stdout", []).append("must be true or false")
    runs = _number("number_of_runs", body.get("number_of_runs"), errors)
    callback = _callback_url(body.get("callback_url"), settings, errors)
    asked = {n: _number(n, body.get(n), errors) for n in ("cpu_time_limit", "wall_time_limit", "memory_limit")}
    if errors:
        raise FieldErrors(errors)
    maxima = Maxima.of(settings)
    clamped: list[Clamped] = []
    return Prepared(
        source_code=texts["source_code"] or "",
        stdin=texts["stdin"] or "",
        expected_output=texts["expected_output"],
        args=args,
        cpu_time_limit=clamp("cpu_time_limit", asked["cpu_time_limit"], maxima.cpu_seconds, clamped),
        wall_time_limit=clamp("wall_time_limit", asked["wall_time_limit"], maxima.wall_seconds, clamped),
        memory_limit=int(clamp("memory_limit", asked["memory_limit"], maxima.memory_bytes // 1024, clamped)),
        redirect_stderr_to_stdout=bool(redirect),
        number_of_runs=int(runs or 1),
        callback_url=callback,
        command_line_arguments=command_line if isinstance(command_line, str) else None,
        clamped=clamped,
    )


def _callback_url(value: Any, settings: Settings, errors: dict[str, list[str]]) -> str | None:
    """Only http(s) URLs to a host of ``CLASSROOM_JUDGE0_CALLBACK_HOSTS``: anything else would let a client
    make the server call into its own network (SSRF). Off (refused) while that setting is empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.setdefault("callback_url", []).append("must be a string")
        return None
    if not settings.judge0_callback_hosts:
        errors.setdefault("callback_url", []).append("callbacks are disabled on this server")
        return None
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    allowed = settings.judge0_callback_hosts
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        errors.setdefault("callback_url", []).append("must be an http(s) URL")
        return None
    if host not in allowed and f"{host}:{port}" not in allowed:
        errors.setdefault("callback_url", []).append(f"host {host} is not allowed for callbacks")
        return None
    return value


def parse_fields(raw: str | None) -> tuple[str, ...]:
    """The attributes ``?fields=`` asks for (default: Judge0's); ValueError names the unknown ones."""
    if raw is None or not raw.strip():
        return DEFAULT_FIELDS
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if "*" in names:
        return ALL_FIELDS
    unknown = [n for n in names if n not in ALL_FIELDS]
    if unknown:
        raise ValueError(f"invalid fields: [{', '.join(unknown)}]")
    return names


def parse_tokens(raw: str | None) -> list[str]:
    tokens = [t.strip() for t in (raw or "").split(",") if t.strip()]
    if not tokens:
        raise ValueError("there should be at least one submission in a batch")
    if len(tokens) > MAX_BATCH:
        raise ValueError(f"number of submissions in a batch should be less than or equal to {MAX_BATCH}")
    return tokens


def as_uuid(token: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(token)
    except ValueError:
        return None


# -- the answer -------------------------------------------------------------------------------------------------


def _strip_output(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


def status_of(run: Run, expected_output: str | None) -> tuple[Status, str | None]:
    """Judge0's status and message for a run (see the module docstring for the mapping)."""
    if run.status == "queued":
        return STATUS_BY_ID[1], None
    if run.status != "finished":
        return STATUS_BY_ID[2], None
    verdict = run.verdict
    if verdict == "ok":
        if expected_output is None or _strip_output(expected_output) == _strip_output(run.stdout or ""):
            return STATUS_BY_ID[3], None
        return STATUS_BY_ID[4], None
    if verdict == "time_limit":
        return STATUS_BY_ID[5], "Time limit exceeded"
    if verdict == "runtime_error":
        if run.signal:
            return STATUS_BY_ID[SIGNAL_STATUS.get(run.signal, 12)], f"Exited with signal {run.signal}"
        return STATUS_BY_ID[11], f"Exited with error status {run.exit_code}"
    if verdict == "memory_limit":
        return STATUS_BY_ID[12], "Memory limit exceeded"
    if verdict == "output_limit":
        return STATUS_BY_ID[8], "Output limit exceeded"
    reason = run.internal_reason or ("cancelled" if verdict == "cancelled" else "the run failed on our side")
    return STATUS_BY_ID[13], reason


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _seconds(ms: int | None) -> str | None:
    return None if ms is None else f"{ms / 1000:.3f}"


def serialize(run: Run, sub: Judge0Submission, fields: tuple[str, ...], *, base64_encoded: bool) -> dict[str, Any]:
    """The submission as Judge0 shows it: the ``fields`` asked, text fields base64 when asked."""
    options: dict[str, Any] = _as_dict(sub.options)
    status, message = status_of(run, sub.expected_output)
    finished = run.status == "finished"
    stdout = run.stdout or ""
    stderr = run.stderr or ""
    if options.get("redirect_stderr_to_stdout"):
        stdout, stderr = stdout + stderr, ""
    source = str(_as_dict(run.files).get(run.entry, ""))
    values: dict[str, Any] = {
        "token": str(run.id),
        "source_code": source,
        "language_id": sub.language_id,
        "language": {"id": sub.language_id, "name": language_name()},
        "stdin": run.stdin or None,
        "expected_output": sub.expected_output,
        "stdout": (stdout or None) if finished else None,
        "stderr": (stderr or None) if finished else None,
        "compile_output": None,
        "message": message,
        "status": status.model_dump(),
        "status_id": status.id,
        "created_at": _timestamp(run.created_at),
        "finished_at": _timestamp(run.finished_at),
        "time": _seconds(run.cpu_ms),
        "wall_time": _seconds(run.wall_ms),
        "memory": None if run.peak_memory_bytes is None else run.peak_memory_bytes // 1024,
        "exit_code": run.exit_code if finished else None,
        "exit_signal": run.signal if finished else None,
        "number_of_runs": options.get("number_of_runs", 1),
        "cpu_time_limit": options.get("cpu_time_limit"),
        "wall_time_limit": options.get("wall_time_limit"),
        "memory_limit": options.get("memory_limit"),
        "command_line_arguments": options.get("command_line_arguments"),
        "redirect_stderr_to_stdout": bool(options.get("redirect_stderr_to_stdout")),
        "callback_url": sub.callback_url,
        "enable_network": False,
    }
    out = {name: values[name] for name in fields}
    if base64_encoded:
        for name in ("source_code", "stdin", "expected_output", "stdout", "stderr", "compile_output"):
            if out.get(name) is not None:
                out[name] = base64.b64encode(out[name].encode()).decode()
    return out


def _as_dict(value: Any) -> dict[str, Any]:
    """A JSON column's value (piccolo gives SQLite's as text, PostgreSQL's as a dict)."""
    if isinstance(value, str):
        import json

        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


def language_name() -> str:
    return f"Python ({python_version()})"


def languages() -> list[dict[str, Any]]:
    return [{"id": PYTHON_ID, "name": language_name()}]


def language_detail() -> dict[str, Any]:
    return {
        **languages()[0],
        "is_archived": False,
        "source_file": "main.py",
        "compile_cmd": None,
        "run_cmd": "python3 main.py",
    }


def statuses() -> list[dict[str, Any]]:
    return [s.model_dump() for s in STATUSES]


def config_info(settings: Settings) -> dict[str, Any]:
    """Judge0's ``/config_info`` with our values: limits are our maxima (asking more is clamped to them)."""
    maxima = Maxima.of(settings)
    memory_kb = maxima.memory_bytes // 1024
    return {
        "maintenance_mode": False,
        "enable_wait_result": True,
        "enable_compiler_options": False,
        "allowed_languages_for_compile_options": [],
        "enable_command_line_arguments": True,
        "enable_submission_delete": False,
        "enable_callbacks": bool(settings.judge0_callback_hosts),
        "callbacks_max_tries": CALLBACK_TRIES,
        "callbacks_timeout": CALLBACK_TIMEOUT,
        "enable_additional_files": False,
        "max_queue_size": 10000,
        "cpu_time_limit": maxima.cpu_seconds,
        "max_cpu_time_limit": maxima.cpu_seconds,
        "cpu_extra_time": 0.0,
        "max_cpu_extra_time": 0.0,
        "wall_time_limit": maxima.wall_seconds,
        "max_wall_time_limit": maxima.wall_seconds,
        "memory_limit": memory_kb,
        "max_memory_limit": memory_kb,
        "stack_limit": memory_kb,
        "max_stack_limit": memory_kb,
        "max_processes_and_or_threads": 64,
        "max_max_processes_and_or_threads": 64,
        "enable_per_process_and_thread_time_limit": False,
        "allow_enable_per_process_and_thread_time_limit": False,
        "enable_per_process_and_thread_memory_limit": False,
        "allow_enable_per_process_and_thread_memory_limit": False,
        "max_file_size": 16 * MIB // 1024,
        "max_max_file_size": 16 * MIB // 1024,
        "number_of_runs": 1,
        "max_number_of_runs": 1,
        "redirect_stderr_to_stdout": False,
        "max_extract_size": 0,
        "enable_batched_submissions": True,
        "max_submission_batch_size": MAX_BATCH,
        "submission_cache_duration": 0.0,
        "use_docs_as_homepage": False,
        "allow_enable_network": False,
        "enable_network": False,
    }


def about() -> dict[str, str]:
    return {
        "version": "1.13.1",
        "homepage": "https://judge0.com",
        "source_code": "https://github.com/judge0/judge0",
        "maintainer": "classroom (a Judge0 CE compatible subset over classroom's sandboxes)",
    }


CALLBACK_TRIES = 3
CALLBACK_TIMEOUT = 5.0
