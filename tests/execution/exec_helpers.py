"""Helpers of the execution tests (a module of its own: fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from execution import Backend, get_backend
from execution.runtime import SANDBOX_UID
from execution.selftest import self_test

BACKENDS = ["bwrap", "nsjail", "docker", "docker-gvisor"]
_unusable: dict[str, str] = {}


def usable_backend(name: str) -> Backend:
    """The real backend, or ``pytest.skip`` with the reason its probe gives."""
    if name in _unusable:
        pytest.skip(_unusable[name])
    backend = get_backend(name)
    missing = backend.unavailable_reason()
    if name.startswith("docker") and missing is not None and missing[0].startswith("runtime image"):
        from execution.docker_backend import build_image

        build_image()  # once per machine: the image is built locally, no registry
        missing = backend.unavailable_reason()
    if missing is not None:
        _unusable[name] = f"{name} unavailable: {missing[0]} (fix: {missing[1]})"
        pytest.skip(_unusable[name])
    report = asyncio.run(self_test(backend))
    if not report.ok:
        _unusable[name] = f"{name} self-test failed: {'; '.join(report.failures)}"
        pytest.skip(_unusable[name])
    return backend


@dataclass
class Canaries:
    """Things on the host that no sandbox may reach."""

    file: Path
    file_secret: str
    env_var: str
    env_secret: str
    listener: socket.socket

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def secrets(self) -> list[str]:
        return [self.file_secret, self.env_secret]

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
