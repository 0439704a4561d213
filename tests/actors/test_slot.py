"""The execution slot as a plain class (no Ray): real sandboxes, one run at a time, never unconfined."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from runs_helpers import backend_or_skip

from actors.slot import ExecutionSlot
from execution import Limits
from execution.process import ProcessSandbox
from execution.runtime import stub_dir

pytestmark = [pytest.mark.anyio, pytest.mark.sandbox]

SPEC: dict[str, Any] = {"files": {"main.py": "print('a'); print('b')"}, "entry": "main.py"}


async def collect(slot: ExecutionSlot, run_id: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [item async for item in slot.run(run_id, spec)]


async def test_a_run_streams_then_gives_one_result() -> None:
    await backend_or_skip()
    slot = ExecutionSlot("s", warm=1)
    try:
        assert (await slot.ready())["ok"]
        items = await collect(slot, "r1", SPEC)
        assert items[0] == {"type": "started", "slot": "s"}
        out = "".join(text for i in items if i["type"] == "output" for stream, text in i["chunks"])
        assert out == "a\nb\n" and items[-1]["type"] == "result" and items[-1]["verdict"] == "ok"
    finally:
        await slot.close()


async def test_one_run_at_a_time_and_cancel() -> None:
    await backend_or_skip()
    slot = ExecutionSlot("s", warm=1)
    try:
        spin = asyncio.ensure_future(collect(slot, "r1", {"files": {"main.py": "while True: pass"}}))
        for _ in range(100):
            if slot._run_id is not None and slot._sandbox is not None:
                break
            await asyncio.sleep(0.05)
        assert await collect(slot, "r2", SPEC) == [{"type": "busy", "running": "r1"}]
        assert not await slot.cancel("other-run")
        assert await slot.cancel("r1")
        items = await spin
        assert items[-1]["verdict"] == "cancelled"
    finally:
        await slot.close()


class UnconfinedBackend:
    """A misconfigured host: the in-box stub runs straight on the host, outside any box."""

    name = "unconfined-slot-test"
    strength = 0

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir

    def unavailable_reason(self) -> tuple[str, str] | None:
        return None

    def leftovers(self, owner: int | None = None) -> list[str]:
        return []

    def sandbox(self, limits: Limits, language: str = "python") -> ProcessSandbox:
        def argv(fds: list[int]) -> tuple[list[str], list[int]]:
            workdir = tempfile.mkdtemp(dir=self.workdir)
            os.chmod(workdir, 0o777)
            return [sys.executable, "-I", "-S", "-u", str(stub_dir() / "stub.py"), workdir, "", ""], fds

        return ProcessSandbox(self.name, limits, argv)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for cgroups")
async def test_a_backend_that_fails_its_self_test_fails_runs_and_never_runs_them(tmp_path: Path) -> None:
    from execution import register_backend

    os.chmod(tmp_path, 0o755)
    from execution import registry

    register_backend(UnconfinedBackend.name, lambda: UnconfinedBackend(str(tmp_path)))
    slot = ExecutionSlot("s", backend=UnconfinedBackend.name, warm=1)
    try:
        ready = await slot.ready()
        assert not ready["ok"] and "self-test failed" in ready["reason"]
        items = await collect(slot, "r1", {"files": {"main.py": "open('/tmp/ran-unconfined', 'w')"}})
        assert len(items) == 1 and items[0]["type"] == "failed" and "self-test failed" in items[0]["reason"]
        assert not os.path.exists("/tmp/ran-unconfined")  # noqa: ASYNC240
    finally:  # "auto" elsewhere in this process must not meet it
        registry._FACTORIES.pop(UnconfinedBackend.name, None)
        registry._INSTANCES.pop(UnconfinedBackend.name, None)
