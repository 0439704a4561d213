"""Nothing of a sandbox outlives its server: a graceful stop removes every container and every hierarchy's run
folder; a crash's leftovers (a server killed with SIGKILL) are removed when the next pool starts.

Other engineers' runs share this machine: every assertion is scoped to the pids this test created.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from exec_helpers import BACKENDS, sandbox_processes, usable_backend

from execution import Limits, RunSpec, Verdict, WarmPool, get_backend
from execution.cgroups import CGROUP_ROOT, PARENT, hierarchies
from execution.leftovers import existing_groups, reap_stale
from execution.types import MiB

pytestmark = [pytest.mark.sandbox, pytest.mark.anyio]

LIM = Limits(wall_seconds=5, cpu_seconds=2, memory_bytes=128 * MiB, pids=32)
ROOT = Path(__file__).resolve().parents[2]

# A server that warms two sandboxes, says which leftovers it has, then waits to be killed.
CRASHER = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from execution import Limits, WarmPool
    from execution.types import MiB

    async def main():
        pool = WarmPool(sys.argv[1], size=2, limits=Limits(memory_bytes=128 * MiB, pids=32), self_test=False)
        await pool.start()
        await asyncio.wait_for(pool.wait_warm(2), 60)
        print(json.dumps(pool.backend.leftovers(owner=os.getpid())), flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
    """
)


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    usable_backend(request.param)
    return str(request.param)


def _hierarchies_of(paths: list[str]) -> set[str]:
    return {Path(p).parent.parent.name for p in paths if Path(p).name.startswith("run-")}


async def test_a_graceful_stop_leaves_nothing(backend_name: str) -> None:
    me = os.getpid()
    before = set(get_backend(backend_name).leftovers(owner=me))
    async with WarmPool(backend_name, size=2, limits=LIM) as pool:
        await asyncio.wait_for(pool.wait_warm(2), 30)
        res = await pool.run(RunSpec(files={"main.py": "print('hi')"}, limits=LIM))
        assert res.verdict == Verdict.OK
        await asyncio.wait_for(pool.wait_warm(2), 30)
        assert pool.backend is not None
        live = set(pool.backend.leftovers(owner=me)) - before
        assert len([p for p in live if "/run-" in p]) >= 2, live  # the test sees what it must later miss
        if backend_name.startswith("docker") and len(hierarchies()) > 1:
            # runc made the run's folder in hierarchies we never asked for (blkio, devices, freezer, ...)
            assert _hierarchies_of(sorted(live)) - {"memory", "pids", "cpu", "cpuacct"}, live
            assert sum(1 for p in live if not p.startswith("/")) == 2, "two warm containers"
    assert set(pool.backend.leftovers(owner=me)) - before == set()
    assert not sandbox_processes(me)


def _crashed_server(backend_name: str) -> int:
    """The pid of a server process that warmed two sandboxes and was then killed with SIGKILL."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHER, backend_name], stdout=subprocess.PIPE, env=env, cwd=ROOT, text=True
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # the crasher bounds its own wait (60 s)
        assert line.startswith("["), f"the crasher did not warm up: {line!r}"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    return child.pid


async def test_a_crashed_servers_leftovers_are_removed_at_the_next_start(backend_name: str) -> None:
    pid = await asyncio.to_thread(_crashed_server, backend_name)
    backend = get_backend(backend_name)
    left = backend.leftovers(owner=pid)
    assert len([p for p in left if "/run-" in p]) >= 2, f"a SIGKILLed server leaves its sandboxes: {left}"

    async with WarmPool(backend_name, size=0, limits=LIM, self_test=False):
        pass  # starting a pool sweeps what dead servers left
    assert backend.leftovers(owner=pid) == []
    assert not sandbox_processes(pid)


@pytest.mark.skipif(os.geteuid() != 0, reason="creating real cgroups needs root")
def test_the_sweep_spares_a_live_owner_and_takes_a_dead_ones_folders_in_every_hierarchy() -> None:
    owner = subprocess.Popen(["sleep", "120"])
    name = f"run-{owner.pid}-sweeptest0001"
    made = []
    try:
        for h in hierarchies():
            d = h / PARENT / name / "child"  # a nested group too, as runc leaves one per container
            d.mkdir(parents=True, exist_ok=True)
            made.append(h / PARENT / name)
        assert len(made) == len(hierarchies()) >= 1
        assert not [p for p in reap_stale() if name in p], "a live owner's folders were removed"
        assert sorted(existing_groups(owner=owner.pid)) == sorted(str(d) for d in made)
    finally:
        owner.kill()
        owner.wait(5)
    removed = [p for p in reap_stale() if name in p]
    assert sorted(removed) == sorted(str(d) for d in made)
    assert not any(d.exists() for d in made)
    assert existing_groups(owner=owner.pid) == []
    assert CGROUP_ROOT.exists()


def test_canaries_a_dead_process_left_are_swept_and_a_live_ones_are_not(tmp_path: Path) -> None:
    from execution.canaries import HostCanaries, sweep_stale

    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        stale = tmp_path / f".classroom-canary-{dead.pid}-0123456789ab"
        kept = tmp_path / f".classroom-canary-{alive.pid}-0123456789ab"
        unowned_old = tmp_path / ".classroom-canary-0123456789ab"  # named before names carried a pid
        other = tmp_path / "not-a-canary"
        for f in (stale, kept, unowned_old, other):
            f.write_text("canary-x")
        os.utime(unowned_old, (time.time() - 7200, time.time() - 7200))
        assert sorted(sweep_stale((tmp_path,))) == sorted([str(stale), str(unowned_old)])
        assert kept.exists() and other.exists()
        with HostCanaries((tmp_path,)) as host:  # planting sweeps too, and names its files after this process
            assert all(f"-canary-{os.getpid()}-" in c.path for c in host.planted)
            mine = [c.path for c in host.planted if c.place == str(tmp_path)]
            assert mine and sweep_stale((tmp_path,)) == [] and Path(mine[0]).exists()
        assert kept.exists()
    finally:
        alive.kill()
        alive.wait()
