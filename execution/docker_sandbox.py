"""One docker sandbox: a hardened container spoken to over docker's attach socket (see
:mod:`execution.docker_backend` for how it is configured).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
import time
from pathlib import Path
from typing import Any, Protocol

from execution.cgroups import CGROUP_ROOT, Cgroup
from execution.errors import SandboxError, SandboxStateError
from execution.output import OutputCapture
from execution.process import START_TIMEOUT
from execution.runtime import BOX_WORKDIR
from execution.single_use import SingleUse
from execution.tracebacks import parse_python_error
from execution.types import Chunk, Limits, OnChunk, RunResult, RunSpec, Stream, Verdict
from execution.verdicts import decide_verdict, verdict_detail
from execution.wire import LOADED_TRAILER, MAX_REPORT, decode_report, deliver, encode_request, encode_tests

log = logging.getLogger(__name__)


class ContainerHost(Protocol):
    """What a sandbox needs of its backend (:class:`execution.docker_backend.DockerBackend`): the docker client,
    the daemon's cgroup driver, and the container's create arguments. A protocol, so the backend module (which
    makes sandboxes) and this one do not import each other."""

    @property
    def client(self) -> Any: ...

    def cgroup_driver(self) -> str: ...

    def create_kwargs(self, limits: Limits, language: str, cgroup_parent: str | None = None) -> dict[str, Any]: ...


_ACK = b"\x06"
_STREAMS: dict[int, Stream] = {1: "stdout", 2: "stderr"}


class DockerSandbox(SingleUse):
    """A :class:`~execution.protocol.Sandbox` that is one container."""

    def __init__(self, backend: ContainerHost, limits: Limits, language: str) -> None:
        super().__init__(limits)
        self.backend = backend
        self.language = language
        self._container: Any = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._sock: Any = None
        self._cgroup: Cgroup | None = None
        self._creating: asyncio.Future[Any] | None = None

    async def _frame(self) -> tuple[Stream, bytes] | None:
        assert self._reader is not None
        try:
            header = await self._reader.readexactly(8)
            kind, size = header[0], struct.unpack(">I", header[4:])[0]
            return _STREAMS.get(kind, "stderr"), await self._reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def start(self) -> None:
        if self._state != "new":
            raise SandboxStateError(f"start() on a {self._state} sandbox")
        self._state = "starting"
        client = self.backend.client
        try:
            # Our own per-run cgroup as the container's parent: it outlives the container's (which runc
            # removes at exit), so usage, peak memory and OOM kills can be read after the run.
            # With the systemd cgroup driver (usual on cgroup v2 hosts) docker only takes a slice as the
            # parent: then the container's own scope is read while it lives, and OOM comes from docker.
            parent = None
            if await asyncio.to_thread(self.backend.cgroup_driver) == "cgroupfs":
                self._cgroup = await asyncio.to_thread(Cgroup.create, self.limits)
                parent = "/" + str(next(iter(self._cgroup.dirs.values())).relative_to(self._cgroup_root()))
            kwargs = self.backend.create_kwargs(self.limits, self.language, parent)
            # A create cannot be called back once its thread runs: if this start is cancelled meanwhile
            # (a pool closing), close() still learns of the container and removes it.
            self._creating = asyncio.ensure_future(asyncio.to_thread(lambda: client.containers.create(**kwargs)))
            self._container = await asyncio.shield(self._creating)
            params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            self._sock = await asyncio.to_thread(client.api.attach_socket, self._container.id, params)
            raw = self._sock._sock
            raw.setblocking(False)
            self._reader, self._writer = await asyncio.open_connection(sock=raw, limit=1 << 16)
            await asyncio.to_thread(self._container.start)
            acks: set[Stream] = set()
            said = b""
            while acks != {"stdout", "stderr"}:
                frame = await asyncio.wait_for(self._frame(), START_TIMEOUT)
                if frame is None:
                    raise SandboxError(f"docker sandbox exited before it was ready: {await self._why_gone(said)}")
                said = (said + frame[1])[-2000:]
                if frame[1].endswith(_ACK):
                    acks.add(frame[0])
        except BaseException as e:
            await self.close()
            if isinstance(e, (SandboxError, asyncio.CancelledError)):
                raise
            raise SandboxError(f"docker sandbox did not start: {type(e).__name__}: {e}") from e
        self._state = "warm"

    async def _why_gone(self, said: bytes) -> str:
        """What a container that died at start said, and how docker saw it end (its logs are off by design)."""
        state: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            assert self._container is not None
            await asyncio.to_thread(self._container.reload)
            state = self._container.attrs.get("State") or {}
        parts = [f"exit code {state.get('ExitCode')}", str(state.get("Error") or "").strip()]
        parts.append(said.decode(errors="replace").strip()[-500:])
        return "; ".join(p for p in parts if p) or "no output"

    def _cgroup_root(self) -> Path:
        assert self._cgroup is not None
        d = next(iter(self._cgroup.dirs.values()))
        return d.parent.parent  # the hierarchy's root: <root>/classroom/run-…

    def read_limits(self) -> dict[str, str]:
        """The limits the kernel enforces on the running container's own cgroup, read back."""
        if self._container is None:
            return {}
        cid = self._container.id
        if self._cgroup is not None:
            inner = Cgroup(self._cgroup.version, {k: d / cid for k, d in self._cgroup.dirs.items()})
            return inner.read_limits()
        scope = Path(CGROUP_ROOT) / "system.slice" / f"docker-{cid}.scope"  # systemd driver, cgroup v2
        return Cgroup(2, {"unified": scope}).read_limits() if scope.is_dir() else {}

    def alive(self) -> bool:
        return self._state == "warm"

    async def _exit_status(self, ended: asyncio.Future[int]) -> int:
        """The exit status from the init's trailer, or else from docker once the container has exited."""
        waited = asyncio.ensure_future(asyncio.to_thread(self._container.wait, timeout=self.limits.wall_seconds + 30))
        # if the trailer wins, docker's answer comes later (or the container is removed first): drop it
        waited.add_done_callback(lambda f: f.cancelled() or f.exception())
        done, _ = await asyncio.wait({ended, waited}, return_when=asyncio.FIRST_COMPLETED)
        if ended in done and not ended.cancelled() and ended.result() >= 0:
            return ended.result()
        return int((await waited).get("StatusCode", -9))

    def _oom_killed(self) -> int:
        """Whether the OOM killer struck: the container's own cgroup if it is still there, else docker."""
        if self._cgroup is not None and self._container is not None:
            own = Cgroup(self._cgroup.version, {k: d / self._container.id for k, d in self._cgroup.dirs.items()})
            with contextlib.suppress(OSError):
                if own.usage().oom_kills:
                    return 1
        with contextlib.suppress(Exception):
            self._container.reload()
            return int(bool(self._container.attrs["State"].get("OOMKilled")))
        return 0

    async def send_stdin(self, data: str | bytes) -> None:
        w = self._writer
        if self._state != "running" or w is None or w.is_closing():
            return
        w.write(data.encode() if isinstance(data, str) else data)
        with contextlib.suppress(ConnectionError):
            await w.drain()

    async def close_stdin(self) -> None:
        w = self._writer
        if w is not None and not w.is_closing() and w.can_write_eof():
            with contextlib.suppress(OSError):
                w.write_eof()

    async def run(self, spec: RunSpec, on_chunk: OnChunk | None = None) -> RunResult:
        self._begin_run(spec)
        assert self._writer is not None
        cap = OutputCapture(self.limits.output_bytes)
        cg = self._cgroup
        base = cg.usage() if cg is not None else None
        t0 = time.monotonic()

        # The in-box init ends each stream with a trailer carrying this nonce and the exit status: once
        # both are seen, all output is in and the status is known, without waiting for docker to notice
        # the exit (tens to hundreds of ms). The program never sees the nonce, so it cannot forge one.
        nonce = secrets.token_hex(16)
        marker = b"\0classroom-exit:" + nonce.encode() + b":"
        # A grade run's report precedes the exit trailer on stdout; it may span frames.
        graded = b"\0classroom-grade:" + nonce.encode() + b":"
        report: list[bytes] = []  # [bytes so far] once the report's marker was seen
        loaded = LOADED_TRAILER + nonce.encode() + b"\n"  # the init asks for the hidden tests
        asked = False
        tail = b""  # the end of the previous stdout frame: a marker may straddle two frames
        trailers: dict[Stream, int] = {}
        ended = asyncio.get_running_loop().create_future()

        async def pump() -> None:
            nonlocal asked, tail
            while (frame := await self._frame()) is not None:
                stream, data = frame
                if stream in trailers:
                    continue  # after the trailer: only orphans, which are being killed
                if stream == "stdout" and spec.grade is not None and not asked:
                    window = tail + data
                    at = window.find(loaded)
                    if at >= 0:
                        asked = True
                        # where the marker starts in this frame (before 0: it began in the previous one, whose
                        # part of it has already gone to the console — the rare price of an in-band signal)
                        offset = at - len(tail)
                        data = data[: max(0, offset)] + data[offset + len(loaded) :]
                        await self._send_tests(spec)
                    else:
                        tail = window[-(len(loaded) - 1) :]
                if stream == "stdout" and spec.grade is not None:
                    if not report and (g := data.find(graded)) >= 0:
                        report.append(b"")
                        data, rest = data[:g], data[g + len(graded) :]
                    elif report and not report[0].endswith(b"\n"):
                        data, rest = b"", data
                    else:
                        rest = b""
                    if report and not report[0].endswith(b"\n"):
                        end = rest.find(b"\n")
                        report[0] += rest if end < 0 else rest[: end + 1]
                        rest = b"" if end < 0 else rest[end + 1 :]
                        if len(report[0]) > MAX_REPORT:
                            report[0] += b"\n"  # too big: not a report
                        data += rest
                at = data.find(marker)
                if at >= 0:
                    code = data[at + len(marker) :].split(b"\n", 1)[0]
                    trailers[stream] = int(code) if code.isdigit() else -1
                    data = data[:at]
                kept = cap.feed(stream, data)
                if kept:
                    await deliver(on_chunk, Chunk(stream, kept, (time.monotonic() - t0) * 1000))
                if cap.exceeded:
                    self._stop_with(Verdict.OUTPUT_LIMIT)
                if len(trailers) == 2 and not ended.done():
                    ended.set_result(trailers["stderr"])

        async def watch_cpu() -> None:
            if cg is None or base is None:
                return
            while True:
                await asyncio.sleep(0.1)
                if cg.usage().cpu_ns - base.cpu_ns > self.limits.cpu_seconds * 1e9:
                    self._stop_with(Verdict.TIME_LIMIT)
                    return

        if self._reason is None:
            if spec.grade is not None:  # stdin stays open: the tests follow once the program has loaded
                self._writer.write(encode_request(spec, nonce))
            else:
                self._writer.write(encode_request(spec, nonce) + spec.stdin.encode())
                if not spec.stdin_open:
                    await self.close_stdin()
        output = asyncio.ensure_future(pump())
        stopper = asyncio.ensure_future(self._stop.wait())
        cpu = asyncio.ensure_future(watch_cpu())
        exited = asyncio.ensure_future(self._exit_status(ended))
        try:
            done, _ = await asyncio.wait(
                {exited, stopper}, timeout=self.limits.wall_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            if exited not in done and self._reason is None:
                self._stop_with(Verdict.TIME_LIMIT)
            wall_ms = (time.monotonic() - t0) * 1000
            if exited not in done:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._container.kill)
            status_code = await asyncio.wait_for(exited, 30)
            if not ended.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(output, 2.0)
        finally:
            for t in (stopper, cpu, output):
                t.cancel()
            if not ended.done():
                ended.cancel()
        usage = cg.usage() if cg is not None else None
        oom = usage.oom_kills - base.oom_kills if usage and base else 0
        if not oom and self._reason is None and status_code == 128 + 9:
            oom = await asyncio.to_thread(self._oom_killed)
        cpu_ms = (usage.cpu_ns - base.cpu_ns) / 1e6 if usage and base else 0.0
        err = cap.streams["stderr"]
        verdict, code, sig = decide_verdict(
            reason=self._reason,
            returncode=status_code,
            oom_kills=oom,
            cpu_ms=cpu_ms,
            limits=self.limits,
            stderr_tail=err.tail_text(),
            peak_memory=usage.peak_memory_bytes if usage else None,
        )
        self._state = "finished"
        out = cap.streams["stdout"]
        return RunResult(
            verdict=verdict,
            exit_code=code,
            signal=sig,
            wall_ms=wall_ms,
            cpu_ms=cpu_ms,
            peak_memory_bytes=usage.peak_memory_bytes if usage else None,
            stdout=out.text(),
            stderr=err.text(),
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            error=parse_python_error(err.tail_text(), BOX_WORKDIR) if verdict != Verdict.OK else None,
            detail=verdict_detail(verdict, self.limits, cpu_ms, wall_ms),
            grade=decode_report(spec, report[0].rstrip(b"\n")) if report else None,
        )

    async def _send_tests(self, spec: RunSpec) -> None:
        """The init asked for the hidden tests: write them to the container's stdin, then end it."""
        w = self._writer
        if w is None or w.is_closing():
            return
        w.write(encode_tests(spec))
        with contextlib.suppress(ConnectionError):
            await w.drain()
        await self.close_stdin()

    async def close(self) -> None:
        if self._state == "closed":
            return
        self._state = "closed"
        if self._writer is not None:
            self._writer.close()
        if self._sock is not None:
            with contextlib.suppress(Exception):
                self._sock.close()
        if self._container is None and self._creating is not None:
            with contextlib.suppress(Exception):
                self._container = await asyncio.wait_for(asyncio.shield(self._creating), 60)
        if self._container is not None:
            await _remove(self._container)
        if self._cgroup is not None:
            await asyncio.to_thread(self._cgroup.remove)


REMOVE_ATTEMPTS = 6


async def _remove(container: Any) -> None:
    """Force-remove a container, retrying: under load dockerd can fail a kill ("did not receive an exit event",
    seen with a SIGSTOPped program) or report a removal already in progress. Gone (404) counts as removed.
    A container that still stands after the retries is logged; the next pool start reaps it."""
    import docker.errors

    delay = 0.1
    for attempt in range(REMOVE_ATTEMPTS):
        try:
            await asyncio.to_thread(container.remove, force=True)
            return
        except docker.errors.NotFound:
            return
        except Exception as exc:
            if attempt == REMOVE_ATTEMPTS - 1:
                log.error("could not remove sandbox container %s: %s", getattr(container, "name", "?"), exc)
                return
            await asyncio.sleep(delay)
            delay *= 2
