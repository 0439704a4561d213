"""How a run ended, as a verdict: shared by every backend so the same facts give the same verdict."""

from __future__ import annotations

import signal

from execution.types import Limits, Verdict


def decide_verdict(
    *,
    reason: Verdict | None,
    returncode: int | None,
    oom_kills: int,
    cpu_ms: float,
    limits: Limits,
    stderr_tail: str,
    peak_memory: int | None = None,
) -> tuple[Verdict, int | None, int | None]:
    """(verdict, exit_code, signal) from how the run was stopped and what the kernel counted."""
    code: int | None = returncode
    sig: int | None = None
    if returncode is not None and returncode < 0:
        code, sig = None, -returncode
    elif returncode is not None and 128 < returncode <= 128 + 64:
        # bwrap/nsjail report a child killed by signal N as 128+N
        code, sig = None, returncode - 128
    if reason is not None:
        return reason, code, sig
    if oom_kills > 0:
        return Verdict.MEMORY_LIMIT, code, sig
    if sig == signal.SIGKILL and peak_memory is not None and peak_memory >= limits.memory_bytes * 0.98:
        # killed at the memory ceiling: the OOM killer, even where its counter is not ours to read
        return Verdict.MEMORY_LIMIT, code, sig
    if sig == signal.SIGXCPU or cpu_ms > limits.cpu_seconds * 1000:
        return Verdict.TIME_LIMIT, code, sig
    if sig is not None or code != 0:
        if "\nMemoryError" in "\n" + stderr_tail:
            return Verdict.MEMORY_LIMIT, code, sig
        return Verdict.RUNTIME_ERROR, code, sig
    return Verdict.OK, code, sig


def verdict_detail(verdict: Verdict, limits: Limits, cpu_ms: float, wall_ms: float) -> str:
    """A one-line human reason for a limit verdict (empty for the others)."""
    mib = 1024 * 1024
    if verdict == Verdict.TIME_LIMIT:
        if cpu_ms >= limits.cpu_seconds * 1000 * 0.95 or wall_ms < limits.wall_seconds * 1000 * 0.95:
            return f"CPU time limit of {limits.cpu_seconds:g} s exceeded"
        return f"wall-clock limit of {limits.wall_seconds:g} s exceeded"
    if verdict == Verdict.MEMORY_LIMIT:
        return f"memory limit of {limits.memory_bytes / mib:g} MiB exceeded"
    if verdict == Verdict.OUTPUT_LIMIT:
        return f"output limit of {limits.output_bytes / 1024:g} KiB exceeded; the program was stopped"
    if verdict == Verdict.CANCELLED:
        return "cancelled"
    return ""
