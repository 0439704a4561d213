"""An execution slot: owns a warm pool of sandboxes and runs one program at a time, streaming its output.

A plain class (Ray options live in :mod:`actors.options`); the dispatcher talks to it through
:mod:`actors.fleet`. Contract of :meth:`ExecutionSlot.run` — an async generator of small dicts:

- ``{"type": "started", "slot": name}`` once the sandbox is taken;
- ``{"type": "output", "chunks": [[stream, text], ...]}`` as output arrives (chunks produced while the
  previous item was in flight are coalesced into one item, so a chatty program costs few messages);
- exactly one final item: ``{"type": "result", ...}`` (the program's verdict; a timeout, OOM or cancel is a
  verdict), or ``{"type": "failed", "reason": ...}`` when the slot could not run it (no working sandbox
  backend, a sandbox that failed to start) — the dispatcher may retry a failure on another slot,
  or ``{"type": "busy"}`` when a run is already in progress here.

The slot never runs anything unconfined: its pool refuses to start unless the backend passes the self-test.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

from execution import (
    Chunk,
    ExecutionError,
    GradeSpec,
    HiddenTest,
    Limits,
    RunResult,
    RunSpec,
    Sandbox,
    WarmPool,
    create_pool,
)

log = logging.getLogger(__name__)


def result_dict(result: RunResult) -> dict[str, Any]:
    """A RunResult as the plain dict that crosses the actor boundary (and is written to the runs row)."""
    error = result.error
    return {
        "type": "result",
        "verdict": str(result.verdict),
        "exit_code": result.exit_code,
        "signal": result.signal,
        "wall_ms": round(result.wall_ms),
        "cpu_ms": round(result.cpu_ms),
        "peak_memory_bytes": result.peak_memory_bytes,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "stdout_truncated": result.stdout_truncated,
        "stderr_truncated": result.stderr_truncated,
        "error": None if error is None else {"type": error.type, "message": error.message, "line": error.line},
        "detail": result.detail,
        **grade_dict(result),
    }


def grade_dict(result: RunResult) -> dict[str, Any]:
    """A check's report as plain data: ``grade`` {loaded, error, tests: [...]} and ``fraction`` of the points
    earned (0 when no report came out: a limit stopped the grading). Empty for a plain run."""
    report = result.grade
    if report is None:
        return {}
    tests = [{"name": t.name, "passed": t.passed, "message": t.message, "points": t.points} for t in report.tests]
    grade = {"loaded": report.loaded, "error": report.error, "tests": tests}
    return {"grade": grade, "fraction": report.score_fraction}


def build_spec(spec: dict[str, Any], limits: Limits) -> RunSpec:
    """The sandbox's run spec; ``spec["limits"]`` (optional) may only lower the slot's ``limits``."""
    asked = spec.get("limits")
    if isinstance(asked, dict):
        limits = limits.lowered(asked)
    return RunSpec(
        files=dict(spec["files"]),
        entry=str(spec.get("entry") or "main.py"),
        stdin=str(spec.get("stdin") or ""),
        args=tuple(str(a) for a in spec.get("args") or ()),
        limits=limits,
        stdin_open=bool(spec.get("interactive", False)),
        grade=_grade(spec.get("grade"), limits),
    )


def _grade(grade: dict[str, Any] | None, limits: Limits) -> GradeSpec | None:
    if grade is None:
        return None
    tests = tuple(
        HiddenTest(str(t["name"]), str(t["code"]), float(t.get("points", 1)), str(t.get("message", "")))
        for t in grade.get("tests") or ()
    )
    # Each question to the program gets a share of the run's wall time, at least one second.
    return GradeSpec(tests, call_seconds=max(1.0, min(3.0, limits.wall_seconds / (len(tests) + 2))))


class ExecutionSlot:
    """One slot: ``warm`` pre-warmed sandboxes of ``backend`` with ``limits`` (a dict of :class:`Limits` fields)."""

    def __init__(self, name: str, backend: str = "auto", warm: int = 2, limits: dict[str, Any] | None = None) -> None:
        self.name = name
        self.backend = backend
        self.warm = warm
        self.limits = Limits(**(limits or {}))
        self._pool: WarmPool | None = None
        self._starting: asyncio.Task[WarmPool] | None = None
        self._error: str | None = None
        self._run_id: str | None = None
        self._sandbox: Sandbox | None = None

    async def _ensure_pool(self) -> WarmPool:
        if self._pool is not None:
            return self._pool
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start_pool())
        return await asyncio.shield(self._starting)

    async def _start_pool(self) -> WarmPool:
        pool = create_pool(self.backend, size=self.warm, limits=self.limits)
        try:
            await pool.start()
        except BaseException as exc:
            self._starting = None  # the next call tries again (a backend may be fixed meanwhile)
            self._error = f"{type(exc).__name__}: {exc}"
            await pool.close()
            raise
        self._pool, self._error = pool, None
        return pool

    async def ready(self) -> dict[str, Any]:
        """Start the pool if needed and say whether this slot can serve (and if not, why)."""
        try:
            pool = await self._ensure_pool()
        except ExecutionError:
            return {"ok": False, "name": self.name, "reason": self._error or "sandbox backend unavailable"}
        return {
            "ok": True,
            "name": self.name,
            "backend": pool.backend.name if pool.backend else "",
            "warm": pool.warm,
            "busy": self._run_id is not None,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "node_ip": _node_ip(),
            "node_id": _node_id(),
        }

    def pid(self) -> int:
        return os.getpid()

    def stats(self) -> dict[str, Any]:
        """The warm pool's counters: a cold start means a run waited for a sandbox to warm."""
        if self._pool is None:
            return {"warm": 0, "warm_hits": 0, "cold_starts": 0, "warm_failures": 0}
        stats = self._pool.stats
        return {
            "warm": self._pool.warm,
            "warm_hits": stats.warm_hits,
            "cold_starts": stats.cold_starts,
            "warm_failures": stats.warm_failures,
        }

    async def run(self, run_id: str, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Run one program; see the module docstring for the items yielded."""
        if self._run_id is not None:
            yield {"type": "busy", "running": self._run_id}
            return
        self._run_id = run_id
        try:
            async for item in self._run(run_id, spec):
                yield item
        finally:
            if self._run_id == run_id:  # (the next run may already be in: leave its state alone)
                self._run_id, self._sandbox = None, None

    async def _run(self, run_id: str, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        try:
            pool = await self._ensure_pool()
            run_spec = build_spec(spec, self.limits)
        except (ExecutionError, ValueError) as exc:
            self._run_id = None
            yield {"type": "failed", "reason": f"{type(exc).__name__}: {exc}"}
            return
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        decoders = {s: codecs.getincrementaldecoder("utf-8")(errors="replace") for s in ("stdout", "stderr")}

        def on_chunk(chunk: Chunk) -> None:
            text = decoders[chunk.stream].decode(chunk.data)
            if text:
                queue.put_nowait((chunk.stream, text))

        try:
            async with pool.acquire(run_spec.limits, run_spec.language) as sandbox:
                self._sandbox = sandbox
                task = asyncio.ensure_future(sandbox.run(run_spec, on_chunk))
                try:
                    await asyncio.sleep(0)  # let the run begin, so stdin sent after "started" reaches it
                    yield {"type": "started", "slot": self.name}
                    while not task.done():
                        getter = asyncio.ensure_future(queue.get())
                        await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                        if getter.done():
                            chunks = [list(getter.result()), *_drain(queue)]
                            yield {"type": "output", "chunks": chunks}
                        else:
                            getter.cancel()
                    result = task.result()
                finally:
                    if not task.done():  # the consumer went away: stop the program
                        sandbox.cancel()
                        with contextlib.suppress(BaseException):
                            await task
        except ExecutionError as exc:
            self._run_id, self._sandbox = None, None
            yield {"type": "failed", "reason": f"{type(exc).__name__}: {exc}"}
            return
        rest = _drain(queue)
        for stream, decoder in decoders.items():
            tail = decoder.decode(b"", final=True)
            if tail:
                rest.append([stream, tail])
        if rest:
            yield {"type": "output", "chunks": rest}
        # Free before the last item leaves: the dispatcher may send the next run as soon as it has the result.
        self._run_id, self._sandbox = None, None
        yield result_dict(result)

    async def send_stdin(self, run_id: str, data: str) -> bool:
        """Feed the running program's stdin; False if ``run_id`` is not running here."""
        if self._run_id != run_id or self._sandbox is None:
            return False
        await self._sandbox.send_stdin(data)
        return True

    async def close_stdin(self, run_id: str) -> bool:
        if self._run_id != run_id or self._sandbox is None:
            return False
        await self._sandbox.close_stdin()
        return True

    async def cancel(self, run_id: str) -> bool:
        """Kill the running program (its verdict becomes ``cancelled``); False if it is not running here."""
        if self._run_id != run_id or self._sandbox is None:
            return False
        self._sandbox.cancel()
        return True

    async def close(self) -> None:
        """Close the warm pool: every sandbox of this slot is destroyed (containers and cgroup folders removed)."""
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()  # a pool still starting closes itself on cancellation
            with contextlib.suppress(BaseException):
                await self._starting
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _drain(queue: asyncio.Queue[tuple[str, str]]) -> list[list[str]]:
    out: list[list[str]] = []
    while not queue.empty():
        stream, text = queue.get_nowait()
        if out and out[-1][0] == stream:
            out[-1][1] += text
        else:
            out.append([stream, text])
    return out


def _node_ip() -> str:
    try:
        import ray

        return str(ray.util.get_node_ip_address()) if ray.is_initialized() else ""
    except Exception:
        return ""


def _node_id() -> str:
    try:
        import ray

        return str(ray.get_runtime_context().get_node_id()) if ray.is_initialized() else ""
    except Exception:
        return ""
