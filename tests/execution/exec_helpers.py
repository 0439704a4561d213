"""Helpers of the execution tests (a module of its own: fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil
from must_work import unusable

from execution import Backend, get_backend
from execution.canaries import HostCanaries
from execution.runtime import SANDBOX_UID
from execution.selftest import self_test

BACKENDS = ["bwrap", "nsjail", "docker", "docker-gvisor"]
_passed: set[str] = set()


def usable_backend(name: str, guard: tuple[Path, ...] = ()) -> Backend:
    """The real backend once its self-test passed (cached for the session only then: a failure, perhaps a
    transient one under load, is tried afresh by the next test).

    Not installed, or installed with a failing self-test: the test FAILS where the backend is required
    (``CI=true``, ``CLASSROOM_TEST_REQUIRE_BACKENDS``; see :mod:`must_work`), else it skips with the reason.
    """
    if name in _passed:
        return get_backend(name)
    backend = get_backend(name)
    missing = backend.unavailable_reason()
    if name.startswith("docker") and missing is not None and missing[0].startswith("runtime image"):
        from execution.docker_backend import build_image

        build_image()  # once per machine: the image is built locally, no registry
        missing = backend.unavailable_reason()
    if missing is not None:
        unusable(name, f"{name} unavailable: {missing[0]} (fix: {missing[1]})")
    report = asyncio.run(self_test(backend, fresh=True, guard=guard))
    if not report.ok:
        unusable(name, f"{name} is installed but its confinement self-test FAILED: {'; '.join(report.failures)}")
    _passed.add(name)
    return backend


@dataclass
class Canaries:
    """Things on the host that no sandbox may reach."""

    file: Path
    file_secret: str
    env_var: str
    env_secret: str
    listener: socket.socket
    host: HostCanaries  # the data directory, the checkout, /etc, /root, /home, /var

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def secrets(self) -> list[str]:
        return [self.file_secret, self.env_secret, *self.host.secrets()]

    def listener_was_reached(self) -> bool:
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True


def sandbox_processes(owner: int) -> set[int]:
    """Host pids running as the sandbox uid inside a per-run cgroup created by process ``owner``.

    Other people's sandboxes on a shared machine are not ours to count.
    """
    pids = set()
    for p in psutil.process_iter(["uids"]):
        uids = p.info.get("uids")
        if uids is None or SANDBOX_UID not in (uids.real, uids.effective):
            continue
        try:
            cgroup = Path(f"/proc/{p.pid}/cgroup").read_text()
        except OSError:
            continue
        if f"/run-{owner}-" in cgroup:
            pids.add(p.pid)
    return pids
