"""The compat APIs' pure parts, without a server: per-run limits that only lower, clamping, Judge0's and Piston's
request reading and verdict mapping, log redaction and the callback settings."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from piccolo.engine.base import Engine

from actors.queue import LIMITS_KEY
from actors.slot import build_spec
from classroom.auth.redaction import install_redaction, redact
from classroom.errors import SettingsError
from classroom.judge0 import service as judge0
from classroom.judge0.service import FieldErrors
from classroom.piston import service as piston
from classroom.piston.service import PistonError
from classroom.runs.limits import Clamped, clamp, clamped_header
from classroom.settings import Settings, load_settings
from classroom.stores.run_queue import PiccoloRunQueue
from classroom.tables import Run, User
from execution import Limits

MIB = 1024 * 1024


def settings(tmp_path: Path, **extra: str) -> Settings:
    env = {
        "CLASSROOM_DATA_DIR": str(tmp_path),
        "CLASSROOM_RUN_MEMORY_MB": "128",
        "CLASSROOM_RUN_WALL_SECONDS": "8",
        "CLASSROOM_RUN_CPU_SECONDS": "4",
        **{f"CLASSROOM_{k.upper()}": v for k, v in extra.items()},
    }
    return load_settings(env, dotenv=None)


def test_limits_can_only_be_lowered() -> None:
    base = Limits(wall_seconds=8, cpu_seconds=4, memory_bytes=128 * MIB)
    lowered = base.lowered({"wall_seconds": 2, "cpu_seconds": 99, "memory_bytes": 64 * MIB, "pids": 1})
    assert (lowered.wall_seconds, lowered.cpu_seconds, lowered.memory_bytes, lowered.pids) == (2, 4, 64 * MIB, 64)
    assert base.lowered({"wall_seconds": -1, "memory_bytes": 0, "cpu_seconds": True}) == base
    assert base.lowered({"memory_bytes": 1}).memory_bytes == 16 * MIB  # the interpreter's floor
    spec = build_spec({"files": {"main.py": ""}, "limits": {"memory_bytes": 10**15, "wall_seconds": 1}}, base)
    assert spec.limits.memory_bytes == 128 * MIB and spec.limits.wall_seconds == 1


@pytest.mark.anyio
async def test_asked_limits_survive_the_durable_queue(sqlite_database: Engine[Any]) -> None:
    user = User(id=uuid.uuid4(), role="student", display_name="s", created_at=datetime.now(UTC))
    await user.save().run()
    run_id = uuid.uuid4()
    files = {"main.py": "print(1)", LIMITS_KEY: {"wall_seconds": 2.0}}
    await Run(id=run_id, user=user.id, files=files, entry="main.py", created_at=datetime.now(UTC)).save().run()
    spec = await PiccoloRunQueue().load_spec(str(run_id))
    assert spec is not None
    assert spec["files"] == {"main.py": "print(1)"} and spec["limits"] == {"wall_seconds": 2.0}


def test_clamping() -> None:
    clamped: list[Clamped] = []
    assert clamp("a", None, 5, clamped) == 5 and clamp("b", -1, 5, clamped) == 5 and clamp("c", 3, 5, clamped) == 3
    assert clamp("d", 50, 5, clamped) == 5
    assert clamped == [Clamped("d", 50, 5)]
    assert clamped_header(clamped) == {"X-Classroom-Clamped": "d=5;asked=50"} and clamped_header([]) == {}


def test_judge0_reads_submissions_as_judge0(tmp_path: Path) -> None:
    s = settings(tmp_path)
    ok = judge0.prepare(
        {
            "source_code": "cHJpbnQoMSk=",
            "language_id": 71,
            "command_line_arguments": "a 'b c'",
            "memory_limit": 10**9,
            "cpu_time_limit": 1,
        },
        base64_encoded=True,
        settings=s,
    )
    assert ok.source_code == "print(1)" and ok.args == ["a", "b c"]
    assert ok.memory_limit == 128 * 1024 and ok.cpu_time_limit == 1 and ok.wall_time_limit == 8
    assert ok.run_limits() == {"cpu_seconds": 1, "wall_seconds": 8, "memory_bytes": 128 * MIB}
    with pytest.raises(FieldErrors) as refused:
        judge0.prepare(
            {
                "language_id": "62",
                "enable_network": True,
                "cpu_time_limit": "x",
                "memory_limit": 0,
                "additional_files": "UEsDBA==",
                "callback_url": "http://x/",
            },
            base64_encoded=False,
            settings=s,
        )
    assert refused.value.errors == {
        "source_code": ["can't be blank"],
        "language_id": ["language with id 62 doesn't exist"],
        "enable_network": ["this option cannot be enabled"],
        "additional_files": ["additional files are not supported (one source file, Python)"],
        "callback_url": ["callbacks are disabled on this server"],
        "cpu_time_limit": ["is not a number"],
        "memory_limit": ["must be greater than 0"],
    }
    assert judge0.parse_fields(None) == judge0.DEFAULT_FIELDS and judge0.parse_fields("*") == judge0.ALL_FIELDS
    with pytest.raises(ValueError, match=r"invalid fields: \[nope\]"):
        judge0.parse_fields("stdout,nope")


def test_judge0_callback_allowlist(tmp_path: Path) -> None:
    s = settings(tmp_path, judge0_callback_hosts="hooks.example:8443,ci.example", judge0_callback_secret="x" * 32)
    base = {"source_code": "print(1)", "language_id": 71}
    for url in ("https://hooks.example:8443/a", "http://ci.example/b"):
        assert judge0.prepare({**base, "callback_url": url}, base64_encoded=False, settings=s).callback_url == url
    for url, message in (
        ("https://hooks.example/a", "host hooks.example is not allowed for callbacks"),
        ("ftp://ci.example/x", "must be an http(s) URL"),
        ("http://user:pw@ci.example/", "must be an http(s) URL"),
        ("http://169.254.169.254/latest", "host 169.254.169.254 is not allowed for callbacks"),
    ):
        with pytest.raises(FieldErrors) as refused:
            judge0.prepare({**base, "callback_url": url}, base64_encoded=False, settings=s)
        assert refused.value.errors == {"callback_url": [message]}
    with pytest.raises(SettingsError, match="JUDGE0_CALLBACK_SECRET"):
        settings(tmp_path, judge0_callback_hosts="hooks.example")
    with pytest.raises(SettingsError, match="JUDGE0_CALLBACK_HOSTS"):
        settings(tmp_path, judge0_callback_hosts="http://hooks.example/path", judge0_callback_secret="x" * 32)


def finished(verdict: str, **fields: Any) -> Run:
    return Run(id=uuid.uuid4(), status="finished", verdict=verdict, stdout=fields.pop("stdout", ""), **fields)


@pytest.mark.parametrize(
    ("run", "expected", "status", "message"),
    [
        (Run(status="queued"), None, 1, None),
        (Run(status="running"), None, 2, None),
        (finished("ok", stdout="42  \n\n"), "42", 3, None),
        (finished("ok", stdout="41\n"), "42\n", 4, None),
        (finished("time_limit"), None, 5, "Time limit exceeded"),
        (finished("runtime_error", exit_code=1), None, 11, "Exited with error status 1"),
        (finished("runtime_error", signal=11), None, 7, "Exited with signal 11"),
        (finished("runtime_error", signal=8), None, 9, "Exited with signal 8"),
        (finished("runtime_error", signal=9), None, 12, "Exited with signal 9"),
        (finished("memory_limit"), None, 12, "Memory limit exceeded"),
        (finished("output_limit"), None, 8, "Output limit exceeded"),
        (finished("internal_error", internal_reason="slot died"), None, 13, "slot died"),
    ],
)
def test_judge0_statuses(run: Run, expected: str | None, status: int, message: str | None) -> None:
    got, text = judge0.status_of(run, expected)
    assert (got.id, text) == (status, message)


def test_piston_reads_requests_as_piston(tmp_path: Path) -> None:
    s = settings(tmp_path)
    ours = piston.version()
    for asked in ("*", "3", "3.x", ours, ours.rsplit(".", 1)[0]):
        assert piston.version_matches(asked, ours), asked
    for asked in ("2", "3.10", "4.x", ours + ".1"):
        assert not piston.version_matches(asked, ours), asked
    ok = piston.prepare(
        {
            "language": "py3",
            "version": "*",
            "files": [{"content": "print(1)"}, {"name": "lib.py", "content": "eD0x", "encoding": "base64"}],
            "run_memory_limit": -1,
            "run_timeout": 999999,
            "compile_timeout": 10000,
        },
        s,
    )
    assert ok.entry == "file0.code" and ok.files["lib.py"] == "x=1"
    assert (
        ok.memory_bytes == 128 * MIB
        and ok.wall_seconds == 8
        and ok.clamped_out() == {"run_timeout": {"asked": 999999, "used": 8000}}
    )
    for body, message in (
        ({}, "language is required as a string"),
        ({"language": "rust", "version": "1"}, "rust-1 runtime is unknown"),
        ({"language": "python"}, "version is required as a string"),
        ({"language": "python", "version": "*", "files": "x"}, "files is required as an array"),
        (
            {"language": "python", "version": "*", "files": [{"content": "1"}], "args": [1]},
            "args must be an array of strings",
        ),
        (
            {"language": "python", "version": "*", "files": [{"content": "1"}], "run_timeout": "1"},
            "If specified, run_timeout must be a number",
        ),
    ):
        with pytest.raises(PistonError) as refused:
            piston.prepare(body, s)
        assert refused.value.message == message


def test_piston_results() -> None:
    assert piston.run_result(finished("ok", stdout="hi\n", exit_code=0))["status"] is None
    failed = piston.run_result(finished("runtime_error", exit_code=2, stderr="x"))
    assert (failed["status"], failed["code"], failed["output"]) == ("RE", 2, "x")
    killed = piston.run_result(finished("time_limit"))
    assert (killed["status"], killed["signal"], killed["code"]) == ("TO", "SIGKILL", None)
    stopped = piston.run_result(finished("cancelled"), sent_signal="SIGINT")
    assert (stopped["status"], stopped["signal"]) == ("SG", "SIGINT")


def test_tokens_in_piston_paths_are_redacted_from_log_lines() -> None:
    assert redact("GET /piston/any-admin-secret/api/v2/runtimes") == "GET /piston/[redacted]/api/v2/runtimes"
    assert redact("/piston/api/v2/runtimes") == "/piston/api/v2/runtimes"  # the header route carries none
    install_redaction()
    record = logging.getLogRecordFactory()(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "POST", "/piston/secret.admin/api/v2/execute", "1.1", 200),
        None,
    )
    assert record.getMessage() == '127.0.0.1:1 - "POST /piston/[redacted]/api/v2/execute HTTP/1.1" 200'
