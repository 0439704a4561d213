"""The warm pool on a real backend, and its refusal to serve from an unconfined one."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile

import pytest
from exec_helpers import BACKENDS, usable_backend

from execution import ConfinementError, Limits, RunSpec, Verdict, WarmPool
from execution.process import ProcessSandbox
from execution.runtime import stub_dir
from execution.types import MiB

pytestmark = [pytest.mark.sandbox, pytest.mark.anyio]

LIM = Limits(wall_seconds=5, cpu_seconds=2, memory_bytes=128 * MiB, pids=32)


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    usable_backend(request.param)
    return str(request.param)


async def test_runs_come_from_the_warm_pool_and_are_single_use(backend_name: str) -> None:
    async with WarmPool(backend_name, size=2, limits=LIM) as pool:
        await asyncio.wait_for(pool.wait_warm(2), 20)
        leave = "open('/tmp/mine', 'w').write('x')\nimport os\nprint(os.getpid(), os.listdir('/tmp'))"
        first = await pool.run(RunSpec(files={"main.py": leave}, limits=LIM))
        second = await pool.run(RunSpec(files={"main.py": leave}, limits=LIM))
        assert first.verdict == second.verdict == Verdict.OK
        assert first.stdout.endswith("['mine']\n") and second.stdout.endswith("['mine']\n")
        assert pool.stats.warm_hits == 2 and pool.stats.cold_starts == 0
        other = await pool.run(RunSpec(files={"main.py": "print(2)"}, limits=Limits(wall_seconds=3)))
        assert other.stdout == "2\n" and pool.stats.cold_starts == 1
        await asyncio.wait_for(pool.wait_warm(2), 20)  # fresh sandboxes warm in the background
    assert pool.warm == 0
    assert pool.backend is not None and pool.backend.leftovers(owner=os.getpid()) == []


async def test_concurrent_runs(backend_name: str) -> None:
    async with WarmPool(backend_name, size=2, limits=LIM) as pool:
        results = await asyncio.gather(
            *(pool.run(RunSpec(files={"main.py": f"print({i})"}, limits=LIM)) for i in range(4))
        )
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(4)]


class UnconfinedBackend:
    """A backend that forgets the box (like a misconfigured host): the stub runs straight on the host."""

    name = "unconfined"
    strength = 0

    def unavailable_reason(self) -> tuple[str, str] | None:
        return None

    def leftovers(self, owner: int | None = None) -> list[str]:
        return []

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir

    def sandbox(self, limits: Limits, language: str = "python") -> ProcessSandbox:
        def argv(fds: list[int]) -> tuple[list[str], list[int]]:
            workdir = tempfile.mkdtemp(dir=self.workdir)
            os.chmod(workdir, 0o777)
            return [sys.executable, "-I", "-S", "-u", str(stub_dir() / "stub.py"), workdir, "", ""], fds

        return ProcessSandbox(self.name, limits, argv)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for cgroups")
async def test_pool_refuses_to_serve_when_confinement_fails() -> None:
    workdir = tempfile.mkdtemp(prefix="classroom-unconfined-")  # traversable by the sandbox uid
    os.chmod(workdir, 0o755)
    try:
        with pytest.raises(ConfinementError) as err:
            async with WarmPool(UnconfinedBackend(workdir), size=1):
                pass
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert "no loopback" in str(err.value) or "no file" in str(err.value)
