"""The wire between host and box: the request the in-box stub reads, and the output streams coming back."""

from __future__ import annotations

import asyncio
import fcntl
import inspect
import json
import struct
import termios
import time
from collections.abc import Sequence

from execution.types import Chunk, GradeReport, OnChunk, RunSpec, Stream, TestResult


def encode_request(spec: RunSpec, nonce: str = "") -> bytes:
    """The request the in-box stub reads from stdin; ``nonce`` asks its init for an exit-status trailer."""
    body: dict[str, object] = {"files": dict(spec.files), "entry": spec.entry, "args": list(spec.args)}
    if nonce:
        body["nonce"] = nonce
    if spec.grade is not None:
        # how to grade, without the tests: they follow (encode_tests) once the box's init says the program loaded
        body["grade"] = {
            "count": len(spec.grade.tests),
            "call_seconds": spec.grade.call_seconds,
            "load_seconds": max(spec.grade.call_seconds, spec.limits.wall_seconds / 2),
            "module": spec.grade.module,
        }
    req = json.dumps(body).encode()
    return f"{len(req)}\n".encode() + req


LOADED = b"loaded\n"  # on the status pipe: the program loaded, send the tests
LOADED_TRAILER = b"\0classroom-loaded:"  # the same on stdout, with the run's nonce (docker)


def encode_tests(spec: RunSpec) -> bytes:
    """The hidden tests, for the box's stdin once its init asked for them (a grade run only)."""
    assert spec.grade is not None
    data = json.dumps([{"code": t.code, "message": t.message} for t in spec.grade.tests]).encode()
    return f"{len(data)}\n".encode() + data


async def deliver(on_chunk: OnChunk | None, chunk: Chunk) -> None:
    if on_chunk is not None:
        res = on_chunk(chunk)
        if inspect.isawaitable(res):
            await res


def unread_bytes(reader: asyncio.StreamReader) -> int | None:
    """Bytes not yet consumed from ``reader``: its buffer plus what waits in the pipe (None if unknown).

    Uses the reader's buffer and transport, which asyncio does not expose publicly.
    """
    buffer = getattr(reader, "_buffer", None)
    transport = getattr(reader, "_transport", None)
    pipe = transport.get_extra_info("pipe") if transport is not None else None
    if buffer is None or pipe is None:
        return None
    try:
        raw = fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0")
    except ValueError:  # the transport closed the pipe at end of stream: nothing more can come
        return len(buffer)
    except OSError:
        return None
    return len(buffer) + int(struct.unpack("i", raw)[0])


async def drain(
    readers: dict[Stream, asyncio.StreamReader], idle: dict[Stream, bool], pumps: Sequence[asyncio.Future[None]]
) -> bool:
    """Wait until the pumps have taken everything already written (or the streams ended).

    ``False`` if that could not be established (slow ``on_chunk``, internals unavailable): the caller then
    waits for the end of the streams instead.
    """
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if all(p.done() for p in pumps):
            return True
        unread = [unread_bytes(r) for r in readers.values()]
        if None in unread:
            return False
        if all(idle.values()) and not any(unread):
            return True
        await asyncio.sleep(0.0002)
    return False


MAX_REPORT = 1 << 20


def decode_report(spec: RunSpec, data: bytes) -> GradeReport | None:
    """The grader's report, matched to ``spec``'s tests by position: names and weights come from the spec (the
    box only says passed or not, and why). None if it is not a well-formed report for these tests."""
    if spec.grade is None or len(data) > MAX_REPORT:
        return None
    try:
        raw = json.loads(data)
        results = raw["results"]
        if not isinstance(results, list) or len(results) != len(spec.grade.tests):
            return None
        tests = tuple(
            TestResult(t.name, r[0] is True, str(r[1])[:500], t.points)
            for t, r in zip(spec.grade.tests, results, strict=True)
        )
        return GradeReport(bool(raw.get("loaded")), str(raw.get("error") or "")[:500], tests)
    except (ValueError, KeyError, TypeError, IndexError):
        return None
