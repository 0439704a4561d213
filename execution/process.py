"""The sandbox life cycle shared by the process backends (bwrap, nsjail): a confined process tree in its own
cgroup, spoken to over its stdin/stdout/stderr pipes.

The backend supplies the argv that builds the box; this module owns start (launch + wait for the in-box
stub's ACK), run (send the program, stream output, enforce wall/CPU/output limits, decide the verdict) and
close (kill the whole cgroup, remove it). The box's filesystem is tmpfs in its own mount namespace, so no
file of a run outlives its processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence

from execution import cgroups
from execution.cgroups import Cgroup
from execution.errors import SandboxError, SandboxStateError
from execution.output import OutputCapture
from execution.runtime import BOX_WORKDIR, LAUNCHER_ENV, launcher_prefix, prlimit_args
from execution.single_use import SingleUse
from execution.tracebacks import parse_python_error
from execution.types import Chunk, Limits, OnChunk, RunResult, RunSpec, Stream, Verdict
from execution.verdicts import decide_verdict, verdict_detail
from execution.wire import LOADED, MAX_REPORT, decode_report, deliver, drain, encode_request, encode_tests

log = logging.getLogger(__name__)
START_TIMEOUT = 10.0
_ACK = b"\x06"
_CPU_POLL = 0.1


def host_unavailable_reason() -> tuple[str, str] | None:
    """What a process-tree backend (bwrap, nsjail) needs of the host: root, to create the per-run cgroups and drop
    to the sandbox uid, and usable cgroups. ``(reason, fix)`` or None."""
    if os.geteuid() != 0:
        return "needs root to create cgroups and drop to the sandbox uid", "run the server as root"
    try:
        cgroups.check_usable()
    except Exception as e:
        return f"cgroups unusable: {e}", "mount cgroup v1 (memory,pids,cpu) or v2 at /sys/fs/cgroup"
    return None


class ProcessSandbox(SingleUse):
    """A :class:`~execution.protocol.Sandbox` whose box is a process tree launched by ``box_argv``."""

    def __init__(self, backend: str, limits: Limits, box_argv: Callable[[list[int]], tuple[list[str], list[int]]]):
        super().__init__(limits)
        self.backend = backend
        self._box_argv = box_argv
        self._cgroup: Cgroup | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._status_reader: asyncio.StreamReader | None = None
        self._status_transport: asyncio.BaseTransport | None = None
        self._report: bytes | None = None
        self._spec: RunSpec | None = None

    @property
    def cgroup(self) -> Cgroup | None:
        return self._cgroup

    async def start(self) -> None:
        if self._state != "new":
            raise SandboxStateError(f"start() on a {self._state} sandbox")
        self._state = "starting"
        fds: list[int] = []
        try:
            self._cgroup = Cgroup.create(self.limits)
            status_r, status_w = os.pipe()
            fds = [status_w]
            status = self._status_reader = asyncio.StreamReader(limit=MAX_REPORT + 64)
            loop = asyncio.get_running_loop()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(status), os.fdopen(status_r, "rb", 0))
            argv, fds = self._box_argv(fds)
            rl = prlimit_args(self.limits.cpu_seconds, self.limits.file_size_bytes)
            self._proc = await asyncio.create_subprocess_exec(
                *launcher_prefix(self._cgroup.procs_files, rl),
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=LAUNCHER_ENV,
                pass_fds=fds,
                start_new_session=True,
                limit=1 << 16,
            )
            for fd in fds:
                os.close(fd)
            fds = []
            assert self._proc.stdout is not None and self._proc.stderr is not None
            try:
                ack = await asyncio.wait_for(self._proc.stdout.readexactly(1), START_TIMEOUT)
                noise = await asyncio.wait_for(self._proc.stderr.readuntil(_ACK), START_TIMEOUT)
                if len(noise) > 1:
                    log.debug("%s launcher said: %r", self.backend, noise[:-1])
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                ack = b""
            if ack != _ACK:
                err = b""
                if self._proc.stderr is not None:
                    with contextlib.suppress(TimeoutError):
                        err = await asyncio.wait_for(self._proc.stderr.read(4096), 1.0)
                raise SandboxError(f"{self.backend} sandbox did not start: {err.decode(errors='replace').strip()}")
        except BaseException:
            for fd in fds:
                os.close(fd)
            await self.close()
            raise
        self._state = "warm"

    def read_limits(self) -> dict[str, str]:
        """The limits the kernel enforces on this sandbox's cgroup, read back."""
        return self._cgroup.read_limits() if self._cgroup is not None else {}

    def alive(self) -> bool:
        return self._state == "warm" and self._proc is not None and self._proc.returncode is None

    async def send_stdin(self, data: str | bytes) -> None:
        proc = self._proc
        if self._state != "running" or proc is None or proc.stdin is None or proc.stdin.is_closing():
            return
        proc.stdin.write(data.encode() if isinstance(data, str) else data)
        with contextlib.suppress(ConnectionError, BrokenPipeError):
            await proc.stdin.drain()

    async def close_stdin(self) -> None:
        proc = self._proc
        if proc is not None and proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()

    async def run(self, spec: RunSpec, on_chunk: OnChunk | None = None) -> RunResult:
        proc, cg = self._proc, self._cgroup
        self._begin_run(spec)
        assert proc is not None and proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        assert cg is not None
        cap = OutputCapture(self.limits.output_bytes)
        base = cg.usage()
        t0 = time.monotonic()

        idle: dict[Stream, bool] = {"stdout": False, "stderr": False}

        async def pump(stream: Stream, reader: asyncio.StreamReader) -> None:
            while True:
                idle[stream] = True
                data = await reader.read(65536)
                idle[stream] = False
                if not data:
                    return
                kept = cap.feed(stream, data)
                if kept:
                    await deliver(on_chunk, Chunk(stream, kept, (time.monotonic() - t0) * 1000))
                if cap.exceeded:
                    self._stop_with(Verdict.OUTPUT_LIMIT)

        async def watch_cpu() -> None:
            limit_ns = self.limits.cpu_seconds * 1e9
            while True:
                await asyncio.sleep(_CPU_POLL)
                if cg.usage().cpu_ns - base.cpu_ns > limit_ns:
                    self._stop_with(Verdict.TIME_LIMIT)
                    return

        self._spec = spec
        if self._reason is None:  # cancelled before it began: send nothing
            with contextlib.suppress(ConnectionError):
                if spec.grade is not None:  # stdin stays open: the tests follow once the program has loaded
                    proc.stdin.write(encode_request(spec))
                else:
                    proc.stdin.write(encode_request(spec) + spec.stdin.encode())
                    if not spec.stdin_open:
                        proc.stdin.close()
        pumps = [
            asyncio.ensure_future(pump("stdout", proc.stdout)),
            asyncio.ensure_future(pump("stderr", proc.stderr)),
        ]
        exited = asyncio.ensure_future(proc.wait())
        finished = asyncio.ensure_future(self._finished(exited))
        stopper = asyncio.ensure_future(self._stop.wait())
        cpu = asyncio.ensure_future(watch_cpu())
        try:
            done, _ = await asyncio.wait(
                {finished, stopper}, timeout=self.limits.wall_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            ended = finished in done
            if not ended and self._reason is None:
                self._stop_with(Verdict.TIME_LIMIT)
            wall_ms = (time.monotonic() - t0) * 1000
            if ended:
                returncode = finished.result()
                # The program has exited, so its output is in the pipes: take it, then kill the rest
                # (orphans) without waiting for the box to be torn down.
                drained = await drain({"stdout": proc.stdout, "stderr": proc.stderr}, idle, pumps)
                cg.kill_all(spare=proc.pid, wait=not drained)
                if not drained:
                    await asyncio.wait(pumps, timeout=2.0)
            else:
                # Everything in the group dies now, whatever the reason: no process outlives its run.
                cg.kill_all(spare=proc.pid)
                try:
                    returncode = await asyncio.wait_for(asyncio.shield(exited), 2.0)
                except TimeoutError:
                    cg.kill_all()
                    returncode = await asyncio.wait_for(exited, 5.0)
                await asyncio.wait(pumps, timeout=2.0)
        finally:
            for t in (stopper, cpu, exited, finished, *pumps):
                t.cancel()
        usage = cg.usage()
        cpu_ms = (usage.cpu_ns - base.cpu_ns) / 1e6
        err = cap.streams["stderr"]
        verdict, code, sig = decide_verdict(
            reason=self._reason,
            returncode=returncode,
            oom_kills=usage.oom_kills - base.oom_kills,
            cpu_ms=cpu_ms,
            limits=self.limits,
            stderr_tail=err.tail_text(),
            peak_memory=usage.peak_memory_bytes,
        )
        self._state = "finished"
        out = cap.streams["stdout"]
        return RunResult(
            verdict=verdict,
            exit_code=code,
            signal=sig,
            wall_ms=wall_ms,
            cpu_ms=cpu_ms,
            peak_memory_bytes=usage.peak_memory_bytes,
            stdout=out.text(),
            stderr=err.text(),
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            error=parse_python_error(err.tail_text(), BOX_WORKDIR) if verdict != Verdict.OK else None,
            detail=verdict_detail(verdict, self.limits, cpu_ms, wall_ms),
            grade=decode_report(spec, self._report) if self._report is not None else None,
        )

    async def _finished(self, exited: asyncio.Future[int]) -> int:
        """The program's exit status: from the in-box init's status pipe, else from the launcher's exit. A grade
        run's report comes first on the same pipe (``grade:<json>``)."""
        if self._status_reader is not None:
            try:
                line = await self._status_reader.readline()
                if line == LOADED:
                    self._send_tests()
                    line = await self._status_reader.readline()
                if line.startswith(b"grade:"):
                    self._report = line[6:].rstrip(b"\n")
                    line = await self._status_reader.readline()
            except (ValueError, asyncio.LimitOverrunError):
                line = b""
            if line.strip().lstrip(b"-").isdigit():
                return int(line)
        return await exited

    def _send_tests(self) -> None:
        """The init asked for the hidden tests: write them to the box's stdin, then end it."""
        proc, spec = self._proc, self._spec
        if proc is None or proc.stdin is None or proc.stdin.is_closing() or spec is None or spec.grade is None:
            return
        with contextlib.suppress(ConnectionError):
            proc.stdin.write(encode_tests(spec))
            proc.stdin.close()

    async def close(self) -> None:
        if self._state == "closed":
            return
        self._state = "closed"
        if self._status_transport is not None:
            self._status_transport.close()
        proc, cg = self._proc, self._cgroup
        if proc is not None and proc.returncode is None and cg is not None:
            # the box first, so the launcher reaps it and exits by itself (no orphan zombies)
            await asyncio.to_thread(cg.kill_all, 5.0, proc.pid)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 1.0)
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if cg is not None:
            await asyncio.to_thread(cg.remove)
        if proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 5.0)
            if proc.stdin is not None:
                proc.stdin.close()
            # the transport holds the pipes; let it notice the child is gone before we drop it
            await asyncio.sleep(0)

    def describe(self) -> Sequence[str]:
        return [self.backend, self._state]
