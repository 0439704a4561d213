"""Per-run cgroups on v1 (one directory per controller) and v2 (one unified directory).

Every sandbox gets its own child cgroup under a ``classroom`` parent: memory (+swap), pids and cpu are
limited there, usage and OOM kills are read back from there, and at the end every process in it is killed.
Paths are ours (never sandbox-writable), opened with ``O_NOFOLLOW`` anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from execution.errors import BackendUnavailable
from execution.types import Limits

log = logging.getLogger(__name__)
CGROUP_ROOT = Path(os.environ.get("CLASSROOM_EXEC_CGROUP_ROOT", "/sys/fs/cgroup"))
PARENT = os.environ.get("CLASSROOM_EXEC_CGROUP_PARENT", "classroom")
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
_CFS_PERIOD_US = 100_000


@dataclass(frozen=True)
class CgroupUsage:
    peak_memory_bytes: int | None
    oom_kills: int
    cpu_ns: int


def _read(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return os.read(fd, 1 << 16).decode()
    finally:
        os.close(fd)


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _keyed(text: str, key: str) -> int:
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return int(v)
    return 0


def detect_version(root: Path = CGROUP_ROOT) -> int:
    """2 for a pure v2 hierarchy, 1 for v1 (or hybrid with v1 controllers); raise if neither is usable."""
    if (root / "cgroup.controllers").exists():
        return 2
    if all((root / c / "cgroup.procs").exists() for c in ("memory", "pids", "cpu")):
        return 1
    raise BackendUnavailable(
        "cgroups",
        f"no usable cgroup v1 or v2 hierarchy under {root}",
        "mount cgroup2 at /sys/fs/cgroup or the v1 memory,pids,cpu controllers",
    )


def _v1_cpu_ceiling(d: Path) -> int:
    """The smallest CPU share (in quota microseconds per our period) of ``d`` and its ancestors; no limit: huge."""
    ceiling = 1 << 40
    for current in (d, *d.parents):
        try:
            quota = int((current / "cpu.cfs_quota_us").read_text())
            period = int((current / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            break  # above the cgroup mount
        if quota > 0 and period > 0:
            ceiling = min(ceiling, quota * _CFS_PERIOD_US // period)
    return max(1000, ceiling)


def check_usable(root: Path = CGROUP_ROOT) -> None:
    """Raise :class:`BackendUnavailable` unless we can create and remove a child cgroup."""
    cg = Cgroup.create(Limits(), root=root)
    cg.remove()


class Cgroup:
    """One run's cgroup. ``procs_files`` are where a launcher writes its own pid to join it."""

    def __init__(self, version: int, dirs: dict[str, Path]) -> None:
        self.version = version
        self.dirs = dirs

    @classmethod
    def create(cls, limits: Limits, root: Path = CGROUP_ROOT, name: str | None = None) -> Cgroup:
        version = detect_version(root)
        name = name or f"run-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            if version == 2:
                parent = root / PARENT
                parent.mkdir(exist_ok=True)
                for d in (root, parent):
                    with contextlib.suppress(OSError):
                        _write(d / "cgroup.subtree_control", "+memory +pids +cpu")
                dirs = {"unified": parent / name}
            else:
                dirs = {c: root / c / PARENT / name for c in V1_CONTROLLERS if (root / c).is_dir()}
            for d in dirs.values():
                d.parent.mkdir(exist_ok=True)
                d.mkdir()
        except PermissionError as e:
            raise BackendUnavailable(
                "cgroups",
                f"cannot create a cgroup: {e}",
                "run the server as root or delegate a cgroup subtree to its user",
            ) from e
        cg = cls(version, dirs)
        try:
            cg.apply(limits)
        except OSError:
            cg.remove()
            raise
        return cg

    def apply(self, limits: Limits) -> None:
        quota = max(1000, int(limits.cpu_cores * _CFS_PERIOD_US))
        if self.version == 2:
            d = self.dirs["unified"]
            _write(d / "memory.max", str(limits.memory_bytes))
            if (d / "memory.swap.max").exists():
                _write(d / "memory.swap.max", "0")
            _write(d / "pids.max", str(limits.pids))
            _write(d / "cpu.max", f"{quota} {_CFS_PERIOD_US}")
        else:
            mem = self.dirs["memory"]
            _write(mem / "memory.limit_in_bytes", str(limits.memory_bytes))
            if (mem / "memory.memsw.limit_in_bytes").exists():
                _write(mem / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
            with contextlib.suppress(OSError):
                _write(mem / "memory.swappiness", "0")
            _write(self.dirs["pids"] / "pids.max", str(limits.pids))
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(_CFS_PERIOD_US))
            # v1 refuses (EINVAL) a child quota above an ancestor's share: inside a worker container with a
            # quota of its own, a run gets at most what the container has.
            quota = min(quota, _v1_cpu_ceiling(self.dirs["cpu"].parent))
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(quota))

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def read_limits(self) -> dict[str, str]:
        """The limits as the kernel holds them (read back, not what we meant to write)."""
        files = (
            {
                "memory": ("unified", "memory.max"),
                "swap": ("unified", "memory.swap.max"),
                "pids": ("unified", "pids.max"),
                "cpu": ("unified", "cpu.max"),
            }
            if self.version == 2
            else {
                "memory": ("memory", "memory.limit_in_bytes"),
                "memory+swap": ("memory", "memory.memsw.limit_in_bytes"),
                "pids": ("pids", "pids.max"),
                "cpu_quota_us": ("cpu", "cpu.cfs_quota_us"),
                "cpu_period_us": ("cpu", "cpu.cfs_period_us"),
            }
        )
        out = {"version": str(self.version)}
        for key, (ctrl, fname) in files.items():
            with contextlib.suppress(OSError, KeyError):
                out[key] = _read(self.dirs[ctrl] / fname).strip()
        return out

    def usage(self) -> CgroupUsage:
        if self.version == 2:
            d = self.dirs["unified"]
            peak: int | None = None
            with contextlib.suppress(OSError, ValueError):
                peak = int(_read(d / "memory.peak"))
            return CgroupUsage(
                peak,
                _keyed(_read(d / "memory.events"), "oom_kill"),
                _keyed(_read(d / "cpu.stat"), "usage_usec") * 1000,
            )
        mem = self.dirs["memory"]
        cpu_ns = int(_read(self.dirs["cpuacct"] / "cpuacct.usage")) if "cpuacct" in self.dirs else 0
        return CgroupUsage(
            int(_read(mem / "memory.max_usage_in_bytes")),
            _keyed(_read(mem / "memory.oom_control"), "oom_kill"),
            cpu_ns,
        )

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs.values():
            with contextlib.suppress(FileNotFoundError):
                found |= {int(p) for p in _read(d / "cgroup.procs").split()}
        return found

    def kill_all(self, timeout: float = 5.0, spare: int | None = None, wait: bool = True) -> None:
        """SIGKILL every process in the group until none is left (a fork bomb cannot outrun it).

        ``spare`` (the launcher, our direct child) is left alone so that it reaps the box and exits by
        itself: killed first, it would orphan the box's init to the host's pid 1 as a zombie.
        With ``wait=False`` every process gets SIGKILL once (no new one can be forked: pids.max is 0) and
        the call returns without waiting for the kernel to finish them off.
        """
        if self.version == 2:
            d = self.dirs["unified"]
            with contextlib.suppress(OSError):
                _write(d / "pids.max", "0")
            if spare is None and (d / "cgroup.kill").exists():
                with contextlib.suppress(OSError):
                    _write(d / "cgroup.kill", "1")
        else:
            with contextlib.suppress(OSError):
                _write(self.dirs["pids"] / "pids.max", "0")
        deadline = time.monotonic() + timeout
        while pids := self.pids() - {spare}:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not wait:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"processes {sorted(pids)} survive SIGKILL in {self.dirs}")
            time.sleep(0.001)

    def remove(self) -> None:
        """Kill what is left and remove the group's directories in *every* hierarchy (retrying while the kernel
        lets go): docker's runc creates the run's folder in blkio, cpuset, devices, freezer, systemd and unified
        too, and nothing else would ever remove those."""
        self.kill_all()
        name = next(iter(self.dirs.values())).name
        for d in self.dirs.values():
            remove_tree(d)
        for h in hierarchies(self.root):
            remove_tree(h / PARENT / name)

    @property
    def root(self) -> Path:
        """The root the group's hierarchies are mounted under (``<root>/[<controller>/]classroom/run-…``)."""
        d = next(iter(self.dirs.values()))
        return d.parent.parent if self.version == 2 else d.parent.parent.parent


def hierarchies(root: Path = CGROUP_ROOT) -> list[Path]:
    """Every cgroup hierarchy under ``root``: the root itself on pure v2; on v1 (or hybrid) each mounted
    hierarchy, controllers or not (``cpu``, ``memory``, ``blkio``, ``systemd``, ``unified``, ...)."""
    if (root / "cgroup.controllers").exists():
        return [root]
    try:
        return sorted(d for d in root.iterdir() if d.is_dir() and not d.is_symlink() and (d / "cgroup.procs").exists())
    except OSError:
        return []


def remove_tree(d: Path, attempts: int = 400) -> bool:
    """Remove the cgroup folder ``d`` and its child groups, deepest first, killing any process still in them.

    A cgroup folder can only be removed with rmdir once it holds no process and no child; the kernel may
    need a moment after the last process died. True if ``d`` is gone.
    """
    with contextlib.suppress(OSError):
        for child in sorted((c for c in d.iterdir() if c.is_dir() and not c.is_symlink()), reverse=True):
            remove_tree(child, attempts)
    for attempt in range(attempts):
        try:
            d.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            pids: list[str] = []
            with contextlib.suppress(OSError):
                pids = _read(d / "cgroup.procs").split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            if attempt == attempts - 1:
                log.warning("could not remove cgroup %s: %s (pids %s)", d, e, pids)
            time.sleep(0.005)
    return False
