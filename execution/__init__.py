"""Execution engine: run untrusted student Python in hardened, pre-warmed, single-use sandboxes.

A library: it imports neither Ray nor Starlette. A user's failure is a verdict in a result, never an
exception; our own failures are the typed exceptions of :mod:`execution.errors`.

Public face::

    from execution import Limits, RunSpec, WarmPool, create_pool, probe_backends

    pool = create_pool(backend="auto", size=2, limits=Limits())   # "bwrap" | "nsjail" | "docker" |
    async with pool:                                              # "docker-gvisor" | "auto"; self-test
        result = await pool.run(RunSpec(files={"main.py": "print(1)"}), on_chunk)   # first, refuses if
                                                                  # confinement does not hold
    # a check: hidden tests run by the box's init against the loaded program; result.grade is the report
    spec = RunSpec(files=..., grade=GradeSpec((HiddenTest("adds", "expect(main.add(1, 2), 3)"),)))
    # interactive / cancellable: hold the sandbox while the program runs
    async with pool.acquire(spec.limits, spec.language) as sandbox:
        task = asyncio.create_task(sandbox.run(spec, on_chunk))   # spec.stdin_open=True
        await sandbox.send_stdin("42\n"); await sandbox.close_stdin(); sandbox.cancel()
        result = await task
    await pool.wait_warm()                  # all `size` sandboxes warm; pool.warm, pool.stats

    reports = await probe_backends()        # for `classroom doctor`; probe_backends_sync() outside a loop
    get_backend("docker"); backend_names(); register_backend(name, factory)
    execution.docker_backend.build_image()  # for `classroom sandbox build-image` (local, no registry)

``on_chunk(Chunk(stream, data, t_ms))`` may be a plain function or a coroutine function; it is awaited, so
a slow consumer slows the program (back-pressure), never our memory.

Confinement, every backend: namespaces (pid, net, mount, ipc, uts; user too for bwrap and nsjail), a
per-run cgroup (memory = memory + swap, pids, cpu) that is killed as a whole, rlimits (CPU, file size,
core, nofile), a seccomp allow list (:mod:`execution.syscalls`, :mod:`execution.seccomp`), read-only root
holding only the interpreter and its libraries, /proc and /sys unreadable (Landlock), size-capped
tmpfs ``/work``, ``/tmp`` and ``/dev/shm``, uid 65534, an allowlisted environment, no network device. The
host reads nothing from inside a box: the program goes in over stdin and comes back over pipes. ``auto``
picks the strongest backend whose start-up self-test (:mod:`execution.selftest`) passes (:mod:`execution.probe`).
"""

from execution.errors import (
    BackendUnavailable,
    ConfinementError,
    ExecutionError,
    PoolClosed,
    SandboxError,
    SandboxStateError,
    UnknownBackend,
    UnknownLanguage,
)
from execution.pool import WarmPool
from execution.probe import BackendReport, probe_backends, probe_backends_sync, resolve_backend
from execution.protocol import Backend, Sandbox, SelfTestReport
from execution.registry import backend_names, get_backend, register_backend
from execution.selftest import self_test
from execution.types import (
    Chunk,
    GradeReport,
    GradeSpec,
    HiddenTest,
    Limits,
    OnChunk,
    PythonError,
    RunResult,
    RunSpec,
    TestResult,
    Verdict,
)


def create_pool(
    backend: Backend | str = "auto", size: int = 2, limits: Limits | None = None, language: str = "python"
) -> WarmPool:
    """A warm pool (not started: use ``async with`` or ``await pool.start()``)."""
    return WarmPool(backend, size=size, limits=limits, language=language)


__all__ = [
    "Backend",
    "BackendReport",
    "BackendUnavailable",
    "Chunk",
    "ConfinementError",
    "ExecutionError",
    "GradeReport",
    "GradeSpec",
    "HiddenTest",
    "Limits",
    "OnChunk",
    "PoolClosed",
    "PythonError",
    "RunResult",
    "RunSpec",
    "Sandbox",
    "SandboxError",
    "SandboxStateError",
    "SelfTestReport",
    "TestResult",
    "UnknownBackend",
    "UnknownLanguage",
    "Verdict",
    "WarmPool",
    "backend_names",
    "create_pool",
    "get_backend",
    "probe_backends",
    "probe_backends_sync",
    "register_backend",
    "resolve_backend",
    "self_test",
]
