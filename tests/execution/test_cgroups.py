from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from execution import Limits
from execution.cgroups import Cgroup, detect_version
from execution.types import MiB


def _fake_v2(tmp_path: Path) -> Path:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    d = tmp_path / "classroom" / "run"
    d.mkdir(parents=True)
    for name in ("memory.max", "memory.swap.max", "pids.max", "cpu.max", "cgroup.procs", "cgroup.subtree_control"):
        (d / name).write_text("")
    (d / "memory.peak").write_text("12345\n")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (d / "cpu.stat").write_text("usage_usec 2500\nuser_usec 2000\n")
    return d


def test_v2_limits_usage_and_readback(tmp_path: Path) -> None:
    d = _fake_v2(tmp_path)
    assert detect_version(tmp_path) == 2
    cg = Cgroup(2, {"unified": d})
    cg.apply(Limits(memory_bytes=64 * MiB, pids=10, cpu_cores=0.5))
    assert (d / "memory.max").read_text() == str(64 * MiB)
    assert (d / "memory.swap.max").read_text() == "0"
    assert (d / "pids.max").read_text() == "10"
    assert (d / "cpu.max").read_text() == "50000 100000"
    assert cg.read_limits()["memory"] == str(64 * MiB)
    usage = cg.usage()
    assert (usage.peak_memory_bytes, usage.oom_kills, usage.cpu_ns) == (12345, 1, 2_500_000)


def test_cgroup_files_are_not_followed_through_symlinks(tmp_path: Path) -> None:
    d = _fake_v2(tmp_path)
    (d / "pids.max").unlink()
    (d / "pids.max").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        Cgroup(2, {"unified": d}).apply(Limits())
    assert not (tmp_path / "elsewhere").exists()


needs_real = pytest.mark.skipif(os.geteuid() != 0, reason="creating real cgroups needs root")


@needs_real
def test_real_cgroup_limits_kill_and_remove() -> None:
    lim = Limits(memory_bytes=32 * MiB, pids=8)
    cg = Cgroup.create(lim)
    try:
        got = cg.read_limits()
        assert got["memory"] == str(32 * MiB) and got["pids"] == "8"
        join = 'for f; do echo $$ > "$f"; done; sleep 60 & sleep 60 & wait'
        proc = subprocess.Popen(["/bin/sh", "-c", join, "sh", *cg.procs_files])
        deadline = time.monotonic() + 5
        while len(cg.pids()) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(cg.pids()) == 3
        cg.kill_all()
        assert cg.pids() == set()
        proc.wait(5)
    finally:
        cg.remove()
    assert not any(d.exists() for d in cg.dirs.values())
