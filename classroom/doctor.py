"""``classroom doctor``: what this machine can do, each missing piece with the command that fixes it.

Every check is a real probe (run the binary, read the cgroup files, connect to the service); nothing is
inferred from configuration alone. The sandbox backends report their own start-up self-test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import execution
from classroom.settings import Settings


@dataclass(frozen=True)
class Finding:
    area: str
    ok: bool
    summary: str
    fix: str = ""
    optional: bool = False


def cgroups() -> Finding:
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        controllers = (root / "cgroup.controllers").read_text().split()
        missing = [c for c in ("memory", "pids", "cpu") if c not in controllers]
        summary = f"v2 (unified), controllers: {' '.join(controllers)}"
        fix = f"enable {', '.join(missing)} in the parent's cgroup.subtree_control" if missing else ""
        return Finding("cgroups", not missing, summary, fix)
    v1 = sorted(p.name for p in root.iterdir() if (p / "tasks").exists()) if root.is_dir() else []
    missing = [c for c in ("memory", "pids", "cpu") if c not in v1]
    if not v1:
        return Finding(
            "cgroups",
            False,
            "no cgroup filesystem found at /sys/fs/cgroup",
            "mount cgroup2 at /sys/fs/cgroup (systemd does this on a normal host)",
        )
    summary = f"v1, controllers: {' '.join(v1)}"
    return Finding(
        "cgroups", not missing, summary, f"mount the {', '.join(missing)} cgroup v1 controller(s)" if missing else ""
    )


def docker_daemon() -> Finding:
    if not shutil.which("docker"):
        return Finding("docker", False, "docker CLI not installed", "apt-get install -y docker.io", optional=True)
    try:
        out = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, timeout=10
        )
    except subprocess.TimeoutExpired:
        return Finding("docker", False, "docker daemon did not answer in 10 s", "restart dockerd", optional=True)
    if out.returncode != 0:
        return Finding(
            "docker",
            False,
            "docker daemon not running: " + out.stderr.strip().splitlines()[-1][:120],
            "start it: `dockerd >/var/log/dockerd.log 2>&1 &` (or `systemctl start docker`)",
            optional=True,
        )
    return Finding("docker", True, f"daemon {out.stdout.strip()} running", optional=True)


def tcp_reachable(url: str, default_port: int) -> str | None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


def database(settings: Settings) -> Finding:
    from classroom import db

    async def ping() -> None:
        engine = db.engine_from_url(settings.database_url)
        await db.ping(engine)

    kind = "postgresql" if settings.is_postgres else "sqlite"
    try:
        asyncio.run(asyncio.wait_for(ping(), timeout=5))
    except Exception as exc:
        return Finding("database", False, f"{kind}: {exc}", "check CLASSROOM_DATABASE_URL and that the server runs")
    where = settings.database_url if settings.is_postgres else settings.database_url.removeprefix("sqlite:///")
    if settings.is_postgres:
        where = urlsplit(where)._replace(netloc=urlsplit(where).hostname or "").geturl()  # no password shown
    return Finding("database", True, f"{kind} reachable ({where})")


def redis(settings: Settings) -> Finding:
    if not settings.redis_url:
        return Finding(
            "redis", True, "not configured (single replica: in-process fan-out and rate limits)", optional=True
        )
    problem = tcp_reachable(settings.redis_url, 6379)
    if problem:
        return Finding("redis", False, f"unreachable: {problem}", "start Redis or fix CLASSROOM_REDIS_URL")
    return Finding("redis", True, f"reachable ({urlsplit(settings.redis_url).hostname})")


def ray(settings: Settings) -> Finding:
    try:
        import ray as ray_module
    except ImportError as exc:  # pragma: no cover - ray is a dependency
        return Finding("ray", False, f"not importable: {exc}", "make install")
    if settings.ray_address:
        host = settings.ray_address.split("://")[-1]
        problem = tcp_reachable("tcp://" + host, 6379) if ":" in host else None
        if problem:
            return Finding(
                "ray",
                False,
                f"cluster {settings.ray_address} unreachable: {problem}",
                "start the head with `classroom head` (port 6379) or fix CLASSROOM_RAY_ADDRESS",
            )
        return Finding("ray", True, f"{ray_module.__version__}, joins {settings.ray_address}")
    return Finding(
        "ray", True, f"{ray_module.__version__}, starts a local Ray with {settings.sandbox_slots} sandbox slot(s)"
    )


def _selftest_summary(report: execution.BackendReport) -> str:
    test = report.selftest
    if test is None:
        return report.reason or "not tested"
    if not test.ok:
        return "self-test FAILED: " + "; ".join(test.failures)
    limits = ", ".join(f"{k}={v}" for k, v in sorted(test.cgroup_limits.items()))
    return "self-test passed" + (f" (limits read back: {limits})" if limits else "")


def sandboxes(settings: Settings) -> list[Finding]:
    """Each backend with its confinement self-test result, then which one the server will use."""
    reports = execution.probe_backends_sync()
    findings = []
    for report in reports:
        ok = report.available and report.selftest is not None and report.selftest.ok
        fix = report.fix or ("see the failures above; the backend refuses to serve" if not ok else "")
        findings.append(Finding(f"sandbox:{report.name}", ok, _selftest_summary(report), fix, optional=True))
    usable = [f.area.split(":", 1)[1] for f in findings if f.ok]
    choice = settings.sandbox_backend
    if choice == "auto":
        picked = max(usable, key=lambda name: execution.get_backend(name).strength) if usable else None
        findings.append(
            Finding(
                "sandbox",
                bool(picked),
                f"auto picks {picked}" if picked else "no usable backend",
                "" if picked else "install bubblewrap: apt-get install -y bubblewrap",
            )
        )
    else:
        ok = choice in usable
        findings.append(
            Finding(
                "sandbox",
                ok,
                f"configured: {choice}" + ("" if ok else " (not usable)"),
                "" if ok else f"fix {choice} as above or set CLASSROOM_SANDBOX_BACKEND=auto",
            )
        )
    return findings


def run_all(settings: Settings) -> list[Finding]:
    return [cgroups(), docker_daemon(), *sandboxes(settings), database(settings), redis(settings), ray(settings)]


def render(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        mark = "ok  " if f.ok else ("--  " if f.optional else "FAIL")
        lines.append(f"[{mark}] {f.area:<16} {f.summary}")
        if not f.ok and f.fix:
            lines.append(f"       {'':<16} fix: {f.fix}")
    return "\n".join(lines)


def healthy(findings: list[Finding]) -> bool:
    return all(f.ok or f.optional for f in findings)


def is_root() -> bool:
    return os.geteuid() == 0
