"""The Sandbox contract, on every real backend (where unusable: a required one fails, others skip; must_work.py)."""

from __future__ import annotations

import asyncio

import pytest

from execution import Backend, Chunk, Limits, RunSpec, SandboxStateError, Verdict
from execution.types import MiB

pytestmark = [pytest.mark.sandbox, pytest.mark.anyio]

LIM = Limits(wall_seconds=5, cpu_seconds=2, memory_bytes=128 * MiB, pids=32, output_bytes=64 * 1024)


def spec(code: str, **kw: object) -> RunSpec:
    files = kw.pop("files", None) or {"main.py": code}
    return RunSpec(files=files, limits=LIM, **kw)  # type: ignore[arg-type]


async def run(backend: Backend, s: RunSpec) -> tuple[object, list[Chunk]]:
    chunks: list[Chunk] = []
    async with backend.sandbox(LIM) as sb:
        return await sb.run(s, chunks.append), chunks


async def test_hello_and_files_and_args(backend: Backend) -> None:
    code = "import sys, helper\nprint(helper.greet(sys.argv[1:]), input())\n"
    s = spec(
        "",
        files={"main.py": code, "helper.py": "def greet(a):\n    return '-'.join(a)\n"},
        args=("a", "b"),
        stdin="typed\n",
    )
    async with backend.sandbox(LIM) as sb:
        res = await sb.run(s)
    assert (res.verdict, res.exit_code, res.stdout, res.stderr) == (Verdict.OK, 0, "a-b typed\n", "")
    assert res.wall_ms > 0 and res.cpu_ms >= 0
    assert res.peak_memory_bytes is None or res.peak_memory_bytes > 1 * MiB


async def test_exception_is_a_verdict_with_the_users_frame(backend: Backend) -> None:
    code = "def f(d):\n    return d['missing']\n\nf({})\n"
    async with backend.sandbox(LIM) as sb:
        res = await sb.run(spec(code))
    assert (res.verdict, res.exit_code) == (Verdict.RUNTIME_ERROR, 1)
    assert res.error is not None
    assert (res.error.type, res.error.message, res.error.line, res.error.file) == (
        "KeyError",
        "'missing'",
        2,
        "main.py",
    )
    assert "opt/classroom" not in res.stderr, "the stub's own frames are hidden"


async def test_exit_codes_and_signals(backend: Backend) -> None:
    async with backend.sandbox(LIM) as sb:
        res = await sb.run(spec("import sys\nsys.exit(3)"))
    assert (res.verdict, res.exit_code, res.signal) == (Verdict.RUNTIME_ERROR, 3, None)
    async with backend.sandbox(LIM) as sb:
        res = await sb.run(spec("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"))
    assert (res.verdict, res.signal) == (Verdict.RUNTIME_ERROR, 11)


async def test_output_streams_as_it_is_printed(backend: Backend) -> None:
    code = "import time, sys\nprint('first')\ntime.sleep(0.4)\nprint('second', file=sys.stderr)\n"
    chunks: list[Chunk] = []
    async with backend.sandbox(LIM) as sb:
        res = await sb.run(spec(code), chunks.append)
    assert res.verdict == Verdict.OK
    first = next(c for c in chunks if b"first" in c.data)
    second = next(c for c in chunks if b"second" in c.data)
    assert first.stream == "stdout" and second.stream == "stderr"
    assert second.t_ms - first.t_ms >= 300


async def test_interactive_stdin(backend: Backend) -> None:
    code = "a = input('a? ')\nb = input('b? ')\nprint(int(a) + int(b))\n"
    seen: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_chunk(c: Chunk) -> None:
        await seen.put(c.data)

    async with backend.sandbox(LIM) as sb:
        task = asyncio.create_task(sb.run(spec(code, stdin_open=True), on_chunk))
        assert b"a? " in await asyncio.wait_for(seen.get(), 5)
        await sb.send_stdin("40\n")
        assert b"b? " in await asyncio.wait_for(seen.get(), 5)
        await sb.send_stdin(b"2\n")
        res = await asyncio.wait_for(task, 10)
    assert (res.verdict, res.stdout) == (Verdict.OK, "a? b? 42\n")


async def test_eof_when_stdin_is_not_open(backend: Backend) -> None:
    async with backend.sandbox(LIM) as sb:
        res = await sb.run(spec("input()"))
    assert res.verdict == Verdict.RUNTIME_ERROR and res.error is not None and res.error.type == "EOFError"


async def test_cancel_kills_the_run(backend: Backend) -> None:
    async with backend.sandbox(LIM) as sb:
        task = asyncio.create_task(sb.run(spec("import time\nprint('started', flush=True)\ntime.sleep(60)")))
        await asyncio.sleep(0.5)
        sb.cancel()
        res = await asyncio.wait_for(task, 5)
    assert res.verdict == Verdict.CANCELLED and res.wall_ms < 4000


async def test_output_is_capped(backend: Backend) -> None:
    chunks: list[Chunk] = []
    async with backend.sandbox(LIM) as sb:
        res = await sb.run(spec("while True:\n    print('x' * 1000)"), chunks.append)
    assert res.verdict == Verdict.OUTPUT_LIMIT and res.stdout_truncated
    assert len(res.stdout) == LIM.output_bytes
    assert sum(len(c.data) for c in chunks) == LIM.output_bytes


async def test_unicode_round_trip(backend: Backend) -> None:
    async with backend.sandbox(LIM) as sb:
        res = await sb.run(spec("print(input()[::-1], 'é✓')", stdin="ab✓\n"))
    assert res.stdout == "✓ba é✓\n"


async def test_single_use_and_lifecycle_errors(backend: Backend) -> None:
    sb = backend.sandbox(LIM)
    with pytest.raises(SandboxStateError):
        await sb.run(spec("print(1)"))
    await sb.start()
    with pytest.raises(SandboxStateError):
        await sb.run(RunSpec(files={"main.py": "print(1)"}))  # other limits than the sandbox's
    assert (await sb.run(spec("print(1)"))).verdict == Verdict.OK
    with pytest.raises(SandboxStateError):
        await sb.run(spec("print(1)"))
    await sb.close()
    await sb.close()  # idempotent
    with pytest.raises(SandboxStateError):
        await sb.start()
