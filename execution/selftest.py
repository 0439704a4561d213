"""Start-up confinement self-test: before a backend serves, canary programs must fail to escape.

Canaries: the language's own self-test program; reaching the network by IP and by name; reaching a TCP
listener we open on the host's loopback; reading a secret file we plant on the host; seeing an env var we set
in the server; running as root; exceeding the memory and pids limits. The cgroup limits are read back from
the kernel while a sandbox is warm. If anything does not hold, the report says exactly what, and
:class:`~execution.pool.WarmPool` refuses to serve.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import tempfile
from dataclasses import dataclass

from execution.languages import get_language
from execution.protocol import Backend, SelfTestReport
from execution.types import Limits, MiB, RunSpec, Verdict

SELFTEST_LIMITS = Limits(wall_seconds=10, cpu_seconds=5, memory_bytes=64 * MiB, pids=16)
_cache: dict[str, SelfTestReport] = {}

_ESCAPE = r"""
import json, os, socket, sys
out = {"uid": os.getuid()}
def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return "REACHED"
    except OSError as e:
        return "blocked: " + type(e).__name__
out["ip"] = reach("1.1.1.1", 53)
out["name"] = reach("example.com", 80)
out["loopback"] = reach("127.0.0.1", int(sys.argv[1]))
try:
    out["file"] = "READ " + open(sys.argv[2]).read()
except OSError as e:
    out["file"] = "blocked: " + type(e).__name__
out["env"] = sorted(os.environ)
print(json.dumps(out))
"""
_MEMORY = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n"
_PIDS = r"""
import os, time
n = 0
try:
    for _ in range(64):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError:
    print("limited at", n)
else:
    print("NOT LIMITED", n)
"""


@dataclass
class BackendReport:
    """One backend as ``classroom doctor`` shows it."""

    name: str
    available: bool
    reason: str = ""
    fix: str = ""
    selftest: SelfTestReport | None = None


async def self_test(backend: Backend, language: str = "python", *, fresh: bool = False) -> SelfTestReport:
    """Run the canaries on ``backend`` (cached per process unless ``fresh``)."""
    key = f"{backend.name}:{language}"
    if not fresh and key in _cache:
        return _cache[key]
    report = SelfTestReport(ok=False)
    try:
        await _run_canaries(backend, language, report)
    except Exception as e:
        report.failures.append(f"self-test could not run: {type(e).__name__}: {e}")
    report.ok = not report.failures
    _cache[key] = report
    return report


async def _run_canaries(backend: Backend, language: str, report: SelfTestReport) -> None:
    lim = SELFTEST_LIMITS
    lang = get_language(language)
    st = lang.selftest

    async with backend.sandbox(lim, language) as sb:
        read_limits = getattr(sb, "read_limits", None)
        report.cgroup_limits = dict(read_limits()) if callable(read_limits) else {}
        res = await sb.run(RunSpec(files=st.files, stdin=st.stdin, language=language, limits=lim))
    _check(
        report,
        "language",
        res.verdict == Verdict.OK and res.stdout == st.expect_stdout,
        f"{res.verdict} {res.stdout!r} {res.stderr[-300:]!r}",
    )
    _check_limits(report, lim)

    canary_var = "CLASSROOM_SELFTEST_CANARY"
    secret = secrets.token_hex(8)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    os.environ[canary_var] = secret
    with tempfile.TemporaryDirectory(prefix="classroom-canary-") as d:
        path = _plant_secret(d, secret)
        try:
            spec = RunSpec(files={"main.py": _ESCAPE}, args=(str(listener.getsockname()[1]), path), limits=lim)
            async with backend.sandbox(lim, language) as sb:
                res = await sb.run(spec)
        finally:
            os.environ.pop(canary_var, None)
            listener.close()
    try:
        seen = json.loads(res.stdout)
    except ValueError:
        report.failures.append(f"escape canary did not report: {res.verdict} {res.stderr[-300:]!r}")
        return
    _check(report, "unprivileged", seen["uid"] != 0, f"uid {seen['uid']}")
    for k in ("ip", "name", "loopback", "file"):
        _check(report, f"no {k}", str(seen[k]).startswith("blocked"), str(seen[k]))
    _check(report, "clean env", canary_var not in seen["env"] and secret not in res.stdout, ",".join(seen["env"]))

    async with backend.sandbox(lim, language) as sb:
        res = await sb.run(RunSpec(files={"main.py": _MEMORY}, limits=lim))
    _check(report, "memory limit", res.verdict == Verdict.MEMORY_LIMIT, f"{res.verdict}, peak {res.peak_memory_bytes}")
    async with backend.sandbox(lim, language) as sb:
        res = await sb.run(RunSpec(files={"main.py": _PIDS}, limits=lim))
    _check(report, "pids limit", res.stdout.startswith("limited"), f"{res.verdict} {res.stdout.strip()!r}")


def _plant_secret(directory: str, secret: str) -> str:
    path = os.path.join(directory, "secret.txt")
    with open(path, "w") as f:
        f.write(secret)
    os.chmod(directory, 0o755)
    os.chmod(path, 0o644)  # readable by anyone on the host: only the box may stop the read
    return path


def _check(report: SelfTestReport, name: str, ok: bool, detail: str) -> None:
    report.checks[name] = ("ok: " if ok else "FAILED: ") + detail
    if not ok:
        report.failures.append(f"{name}: {detail}")


def _check_limits(report: SelfTestReport, lim: Limits) -> None:
    got = report.cgroup_limits
    if not got:
        report.failures.append("could not read the cgroup limits back")
        return
    mem = got.get("memory", "")
    _check(report, "cgroup memory", mem == str(lim.memory_bytes), f"memory limit read back: {mem}")
    pids = got.get("pids", "")
    _check(report, "cgroup pids", pids == str(lim.pids), f"pids limit read back: {pids}")


async def probe_backends(language: str = "python", fresh: bool = False) -> list[BackendReport]:
    """Every registered backend: available or why not (and the fix), and its self-test result."""
    from execution.registry import backend_names, get_backend

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
