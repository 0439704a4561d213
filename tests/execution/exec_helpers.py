"""Helpers of the execution tests (a module of its own: fixtures live in conftest.py)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import psutil

from execution.runtime import SANDBOX_UID


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
