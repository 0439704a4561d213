"""``docker`` backend: one hardened container per sandbox through the ``docker`` SDK.

``--network none``, ``--cap-drop ALL``, ``no-new-privileges``, our seccomp profile, read-only root, small tmpfs
``/tmp``, ``/work`` and ``/dev/shm``, pids/memory (= memory+swap)/cpu limits, rlimits, uid ``nobody``, no log
driver, killed on timeout and removed after the run. The image is built locally (:mod:`execution.docker_image`).
gVisor: the ``docker-gvisor`` backend is the same with ``--runtime runsc`` (a user-space kernel between the
program and the host), ranked strongest. It needs gVisor installed and registered with dockerd
(``/etc/docker/daemon.json``: ``{"runtimes": {"runsc": {"path": "/usr/local/bin/runsc"}}}``, restart dockerd).
``CLASSROOM_EXEC_DOCKER_RUNTIME`` overrides the runtime of the plain ``docker`` backend.

The container's stdin/stdout/stderr are one attach socket (docker's multiplexed stream); docker API calls are
blocking HTTP and run in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
import uuid
from pathlib import Path
from typing import Any

from execution import cgroups, seccomp
from execution.bwrap_backend import box_command
from execution.cgroups import CGROUP_ROOT, Cgroup
from execution.docker_image import IMAGE, build_image, image_exists
from execution.errors import SandboxError, SandboxStateError
from execution.languages import get_language
from execution.output import OutputCapture
from execution.process import START_TIMEOUT, decide_verdict, deliver, encode_request, verdict_detail
from execution.runtime import BOX_ENV, BOX_PACKAGES_DIR, BOX_STUB_DIR, BOX_WORKDIR, SANDBOX_GID, SANDBOX_UID, stub_dir
from execution.tracebacks import parse_python_error
from execution.types import Chunk, Limits, OnChunk, RunResult, RunSpec, Stream, Verdict

RUNTIME = os.environ.get("CLASSROOM_EXEC_DOCKER_RUNTIME") or None
LABEL = "classroom.sandbox"
_ACK = b"\x06"
_STREAMS: dict[int, Stream] = {1: "stdout", 2: "stderr"}

__all__ = ["IMAGE", "DockerBackend", "DockerSandbox", "build_image"]


def _client() -> Any:
    import docker

    return docker.from_env(timeout=30)


class DockerBackend:
    def __init__(self, name: str = "docker", runtime: str | None = RUNTIME) -> None:
        self.name = name
        self.runtime = runtime
        self._client: Any = None
        self._driver: str | None = None
        self.strength = 4 if runtime == "runsc" else 1

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client()
        return self._client

    def unavailable_reason(self) -> tuple[str, str] | None:
        try:
            self.client.ping()
        except Exception as e:
            return (
                f"docker daemon not reachable: {type(e).__name__}",
                "apt-get install docker.io and start dockerd (scripts/install-system.sh)",
            )
        if not image_exists(self.client):
            return f"runtime image {IMAGE} missing", "classroom sandbox build-image"
        if self.runtime and self.runtime not in self.client.info().get("Runtimes", {}):
            return (
                f"docker runtime {self.runtime!r} is not registered with dockerd",
                "install gVisor (runsc) and register it in /etc/docker/daemon.json",
            )
        return None

    def cgroup_driver(self) -> str:
        if self._driver is None:
            self._driver = str(self.client.info().get("CgroupDriver", "cgroupfs"))
        return self._driver

    def leftovers(self, owner: int | None = None) -> list[str]:
        """Containers and per-run cgroups that exist now (of server process ``owner`` only, if given)."""
        flt = f"{LABEL}.owner={owner}" if owner is not None else LABEL
        containers = [c.name for c in self.client.containers.list(all=True, filters={"label": flt})]
        return containers + cgroups.existing_groups(owner=owner)

    def reap_stale(self) -> list[str]:
        """Remove containers left by server processes that died without closing their sandboxes."""
        removed = cgroups.reap_stale()
        for c in self.client.containers.list(all=True, filters={"label": LABEL}):
            owner = c.labels.get(f"{LABEL}.owner", "")
            if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
                with contextlib.suppress(Exception):
                    c.remove(force=True)
                    removed.append(c.name)
        return removed

    def create_kwargs(self, limits: Limits, language: str, cgroup_parent: str | None = None) -> dict[str, Any]:
        from docker.types import LogConfig, Ulimit

        lang = get_language(language)
        cpu = max(1, int(limits.cpu_seconds + 0.999))
        tmpfs = f"size={limits.tmpfs_bytes},uid={SANDBOX_UID},gid={SANDBOX_GID},nosuid,nodev"
        return {
            "image": IMAGE,
            "command": box_command(language),
            "user": f"{SANDBOX_UID}:{SANDBOX_GID}",
            "network_mode": "none",
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true", f"seccomp={seccomp.docker_profile()}"],
            "read_only": True,
            "tmpfs": {"/tmp": tmpfs, BOX_WORKDIR: tmpfs},
            "shm_size": limits.tmpfs_bytes,
            "volumes": {
                str(stub_dir()): {"bind": BOX_STUB_DIR, "mode": "ro"},
                **{p: {"bind": f"{BOX_PACKAGES_DIR}/{i}", "mode": "ro"} for i, p in enumerate(lang.packages)},
            },
            "mem_limit": limits.memory_bytes,
            "memswap_limit": limits.memory_bytes,
            "pids_limit": limits.pids,
            "nano_cpus": int(limits.cpu_cores * 1e9),
            "ulimits": [
                Ulimit(name="cpu", soft=cpu, hard=cpu + 1),
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="fsize", soft=limits.file_size_bytes, hard=limits.file_size_bytes),
                Ulimit(name="nofile", soft=256, hard=256),
            ],
            "log_config": LogConfig(type="none"),
            "environment": dict(BOX_ENV),
            "working_dir": BOX_WORKDIR,
            "hostname": "sandbox",
            "stdin_open": True,
            "tty": False,
            "ipc_mode": "private",
            "cgroup_parent": cgroup_parent,
            "runtime": self.runtime,
            "labels": {LABEL: "1", f"{LABEL}.owner": str(os.getpid())},
            "name": f"classroom-{os.getpid()}-{uuid.uuid4().hex[:12]}",
        }

    def sandbox(self, limits: Limits, language: str = "python") -> DockerSandbox:
        return DockerSandbox(self, limits, language)


class DockerSandbox:
    """A :class:`~execution.protocol.Sandbox` that is one container."""

    def __init__(self, backend: DockerBackend, limits: Limits, language: str) -> None:
        self.backend = backend
        self.limits = limits
        self.language = language
        self._state = "new"
        self._container: Any = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._sock: Any = None
        self._stop = asyncio.Event()
        self._reason: Verdict | None = None
        self._cgroup: Cgroup | None = None

    async def __aenter__(self) -> DockerSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

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
            self._container = await asyncio.to_thread(lambda: client.containers.create(**kwargs))
            params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            self._sock = await asyncio.to_thread(client.api.attach_socket, self._container.id, params)
            raw = self._sock._sock
            raw.setblocking(False)
            self._reader, self._writer = await asyncio.open_connection(sock=raw, limit=1 << 16)
            await asyncio.to_thread(self._container.start)
            acks: set[Stream] = set()
            while acks != {"stdout", "stderr"}:
                frame = await asyncio.wait_for(self._frame(), START_TIMEOUT)
                if frame is None:
                    raise SandboxError("docker sandbox exited before it was ready")
                if frame[1].endswith(_ACK):
                    acks.add(frame[0])
        except BaseException as e:
            await self.close()
            if isinstance(e, (SandboxError, asyncio.CancelledError)):
                raise
            raise SandboxError(f"docker sandbox did not start: {type(e).__name__}: {e}") from e
        self._state = "warm"

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

    def cancel(self) -> None:
        self._stop_with(Verdict.CANCELLED)

    def _stop_with(self, reason: Verdict) -> None:
        if self._reason is None:
            self._reason = reason
        self._stop.set()

    async def run(self, spec: RunSpec, on_chunk: OnChunk | None = None) -> RunResult:
        if self._state != "warm":
            raise SandboxStateError(f"run() on a {self._state} sandbox")
        if spec.limits != self.limits:
            raise SandboxStateError("the spec's limits differ from the sandbox's")
        assert self._writer is not None
        self._state = "running"
        cap = OutputCapture(self.limits.output_bytes)
        cg = self._cgroup
        base = cg.usage() if cg is not None else None
        t0 = time.monotonic()

        async def pump() -> None:
            while (frame := await self._frame()) is not None:
                kept = cap.feed(frame[0], frame[1])
                if kept:
                    await deliver(on_chunk, Chunk(frame[0], kept, (time.monotonic() - t0) * 1000))
                if cap.exceeded:
                    self._stop_with(Verdict.OUTPUT_LIMIT)

        async def watch_cpu() -> None:
            if cg is None or base is None:
                return
            while True:
                await asyncio.sleep(0.1)
                if cg.usage().cpu_ns - base.cpu_ns > self.limits.cpu_seconds * 1e9:
                    self._stop_with(Verdict.TIME_LIMIT)
                    return

        if self._reason is None:
            self._writer.write(encode_request(spec) + spec.stdin.encode())
            if not spec.stdin_open:
                await self.close_stdin()
        output = asyncio.ensure_future(pump())
        stopper = asyncio.ensure_future(self._stop.wait())
        cpu = asyncio.ensure_future(watch_cpu())
        # docker's wait returns at exit, usually before the attach stream ends: ask at once, in a thread
        wait_timeout = self.limits.wall_seconds + 30
        exited = asyncio.ensure_future(asyncio.to_thread(self._container.wait, timeout=wait_timeout))
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
            status = await asyncio.wait_for(exited, 30)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(output, 2.0)
        finally:
            for t in (stopper, cpu, output):
                t.cancel()
        usage = cg.usage() if cg is not None else None
        oom = usage.oom_kills - base.oom_kills if usage and base else 0
        status_code = int(status.get("StatusCode", -9))
        if not oom and self._reason is None and status_code == 128 + 9:
            # the OOM counter lives in the container's own cgroup, which runc removed: ask docker
            await asyncio.to_thread(self._container.reload)
            oom = int(bool(self._container.attrs["State"].get("OOMKilled")))
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
        )

    async def close(self) -> None:
        if self._state == "closed":
            return
        self._state = "closed"
        if self._writer is not None:
            self._writer.close()
        if self._sock is not None:
            with contextlib.suppress(Exception):
                self._sock.close()
        if self._container is not None:
            container = self._container
            with contextlib.suppress(Exception):
                await asyncio.to_thread(container.remove, force=True)
        if self._cgroup is not None:
            await asyncio.to_thread(self._cgroup.remove)
