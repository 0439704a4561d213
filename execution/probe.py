"""Which backends this machine has, and the strongest one that holds: availability plus the self-test, per backend.

It sits above both :mod:`execution.registry` (backends by name) and :mod:`execution.selftest` (the canaries of one
backend), so neither imports the other.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from execution.errors import BackendUnavailable
from execution.protocol import Backend, SelfTestReport
from execution.registry import backend_names, get_backend
from execution.selftest import self_test


@dataclass
class BackendReport:
    """One backend as ``classroom doctor`` shows it."""

    name: str
    available: bool
    reason: str = ""
    fix: str = ""
    selftest: SelfTestReport | None = None


async def resolve_backend(backend: Backend | str) -> Backend:
    """``auto`` -> the strongest backend that is available and passes its self-test; a name -> that one."""
    if not isinstance(backend, str):
        return backend
    if backend != "auto":
        return get_backend(backend)
    reports = [r for r in await probe_backends() if r.available and r.selftest is not None and r.selftest.ok]
    if not reports:
        raise BackendUnavailable("auto", "no sandbox backend passes its self-test", "run `classroom doctor`")
    return max((get_backend(r.name) for r in reports), key=lambda b: b.strength)


async def probe_backends(language: str = "python", fresh: bool = False) -> list[BackendReport]:
    """Every registered backend: available or why not (and the fix), and its self-test result."""
    reports = []
    for name in backend_names():
        try:
            backend = get_backend(name)
            missing = await asyncio.to_thread(backend.unavailable_reason)
        except Exception as e:
            missing = (f"{type(e).__name__}: {e}", "")
        if missing is not None:
            reports.append(BackendReport(name, False, missing[0], missing[1]))
            continue
        st = await self_test(backend, language, fresh=fresh)
        reason = "" if st.ok else "confinement self-test failed: " + "; ".join(st.failures)
        reports.append(BackendReport(name, st.ok, reason, "" if st.ok else "see the failed checks", st))
    return reports


def probe_backends_sync(language: str = "python") -> list[BackendReport]:
    """:func:`probe_backends` for synchronous callers such as ``classroom doctor``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(probe_backends(language, fresh=True))
    raise RuntimeError("probe_backends_sync() called inside an event loop; await probe_backends()")
