"""Start-up confinement self-test: before a backend serves, canary programs must fail to escape.

Canaries: the language's own self-test program; reaching the network by IP and by name; reaching a TCP
listener we open on the host's loopback; seeing or reading the host canaries (:mod:`execution.canaries`: the data
directory, this checkout, ``/etc``, ``/root``, ``/home``, ``/var``, ``/tmp``); seeing an env var we set in the
server; reading the mount table (host disk and paths); running as root; exceeding the memory and pids limits.
The cgroup limits are read back from the kernel while a sandbox is warm. If anything does not hold, the report
says exactly what, and :class:`~execution.pool.WarmPool` refuses to serve.

Only a passing report is cached (per process, per backend, language and guarded places): a failure, perhaps a
transient one under load, is tried afresh by the next caller.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Sequence
from pathlib import Path

from execution.canaries import PROBE, HostCanaries
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
out["env"] = sorted(os.environ)
try:
    out["mounts"] = "READ " + open("/proc/self/mountinfo").read()[:200]
except OSError as e:
    out["mounts"] = "blocked: " + type(e).__name__
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


async def self_test(
    backend: Backend, language: str = "python", *, fresh: bool = False, guard: Sequence[Path] = ()
) -> SelfTestReport:
    """Run the canaries on ``backend``; ``guard``: host-only directories that must stay invisible too (the
    server's data directory). A passing report is cached per process unless ``fresh``; a failing one never."""
    key = f"{backend.name}:{language}:{':'.join(sorted(str(p) for p in guard))}"
    if not fresh and key in _cache:
        return _cache[key]
    report = SelfTestReport(ok=False)
    try:
        await _run_canaries(backend, language, report, tuple(guard))
    except Exception as e:
        report.failures.append(f"self-test could not run: {type(e).__name__}: {e}")
    report.ok = not report.failures
    if report.ok:
        _cache[key] = report
    return report


async def _run_canaries(backend: Backend, language: str, report: SelfTestReport, guard: tuple[Path, ...]) -> None:
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
    try:
        spec = RunSpec(files={"main.py": _ESCAPE}, args=(str(listener.getsockname()[1]),), limits=lim)
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
    for k in ("ip", "name", "loopback", "mounts"):
        _check(report, f"no {k}", str(seen[k]).startswith("blocked"), str(seen[k]))
    _check(report, "clean env", canary_var not in seen["env"] and secret not in res.stdout, ",".join(seen["env"]))
    await _check_host_canaries(backend, language, report, guard)

    async with backend.sandbox(lim, language) as sb:
        res = await sb.run(RunSpec(files={"main.py": _MEMORY}, limits=lim))
    _check(report, "memory limit", res.verdict == Verdict.MEMORY_LIMIT, f"{res.verdict}, peak {res.peak_memory_bytes}")
    async with backend.sandbox(lim, language) as sb:
        res = await sb.run(RunSpec(files={"main.py": _PIDS}, limits=lim))
    _check(report, "pids limit", res.stdout.startswith("limited"), f"{res.verdict} {res.stdout.strip()!r}")


async def _check_host_canaries(
    backend: Backend, language: str, report: SelfTestReport, guard: tuple[Path, ...]
) -> None:
    lim = SELFTEST_LIMITS
    with HostCanaries(guard) as canaries:
        if canaries.unplanted and os.geteuid() == 0:
            # root can write anywhere: a place it could not plant in is a broken host, not a reason to look less
            _check(report, "canaries planted", False, f"could not plant: {canaries.unplanted}")
        spec = RunSpec(files={"main.py": PROBE}, args=(canaries.probe_arg(),), limits=lim)
        async with backend.sandbox(lim, language) as sb:
            res = await sb.run(spec)
        try:
            seen = json.loads(res.stdout)
        except ValueError:
            _check(report, "no file", False, f"canary probe did not report: {res.verdict} {res.stderr[-300:]!r}")
            return
        leaks = canaries.leaks(seen)
        places = ", ".join(canaries.places())
        _check(report, "no file", not leaks, "; ".join(leaks) if leaks else f"hidden: {places}")


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
