"""Faults with real Ray (the session's local cluster, 2 slots) and real sandboxes: a slot killed with SIGKILL in
the middle of a run, a dispatcher that crashes, and 200 submissions through both — every run ends exactly once."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest
from runs_helpers import backend_or_skip, make_user, submit, wait_finished

from actors.dispatcher import Dispatcher, NullEvents
from actors.fleet import RayFleet
from actors.queue import MAX_ATTEMPTS
from classroom.stores.run_queue import PiccoloRunQueue
from classroom.tables import Run

pytestmark = [pytest.mark.anyio, pytest.mark.ray, pytest.mark.sandbox, pytest.mark.slow]

SLOT_ARGS: dict[str, Any] = {"warm": 2, "limits": {"wall_seconds": 10.0}}


class Finished(NullEvents):
    """Counts the final results each dispatcher reports, per run."""

    def __init__(self) -> None:
        self.count: collections.Counter[str] = collections.Counter()

    def finished(self, run_id: str, result: dict[str, Any], run: Any) -> None:
        self.count[run_id] += 1


async def started_dispatcher(
    events: Finished, lease: float = 3.0, max_attempts: int = MAX_ATTEMPTS, run_timeout: float = 30.0
) -> Dispatcher:
    # run_timeout: three times the slots' wall limit, so a slot that stops answering costs a run 30 s, not 120.
    fleet = RayFleet(SLOT_ARGS)
    dispatcher = Dispatcher(
        fleet,
        PiccoloRunQueue(),
        events=events,
        lease_seconds=lease,
        tick_seconds=0.2,
        max_attempts=max_attempts,
        run_timeout=run_timeout,
    )
    fleet.on_change = dispatcher.wake
    await dispatcher.start()
    for _ in range(1800):  # a slot's start runs the sandbox self-test: slow on a loaded 2-core machine
        if len(fleet.ready()) == 2:
            return dispatcher
        await asyncio.sleep(0.1)
    raise AssertionError(f"slots not ready: {fleet.slots()}")


async def kill_a_running_slot(dispatcher: Dispatcher, sig: int = signal.SIGKILL) -> str:
    """Send ``sig`` to the process of a slot that is running a program; the id of that run."""
    fleet = dispatcher.fleet
    assert isinstance(fleet, RayFleet)
    for _ in range(400):
        flights = [f for f in dispatcher._flights.values() if f.started]
        if flights:
            try:
                pid = await asyncio.wait_for(fleet.pid(flights[0].slot), 2)
            except Exception:  # that slot is restarting: try another moment
                await asyncio.sleep(0.05)
                continue
            os.kill(pid, sig)
            return flights[0].run.id
        await asyncio.sleep(0.025)
    raise AssertionError("no run started")


@pytest.fixture
async def db(ray_local: None, sqlite_database: Any) -> AsyncIterator[None]:
    await backend_or_skip()
    yield


async def test_a_slot_killed_mid_run_is_retried_and_completes(db: None) -> None:
    events = Finished()
    dispatcher = await started_dispatcher(events)
    try:
        user = await make_user()
        run_id = await submit(dispatcher, user, "import time\nprint('a', flush=True)\ntime.sleep(1.5)\nprint('b')")
        assert await kill_a_running_slot(dispatcher) == run_id
        [row] = await wait_finished([run_id], within=60)
        assert (row["verdict"], row["stdout"], row["attempts"]) == ("ok", "a\nb\n", 2)
        assert events.count[run_id] == 1
    finally:
        await dispatcher.stop()


async def test_a_slot_that_stops_answering_is_restarted_and_its_run_retried(db: None) -> None:
    # SIGSTOP: the process lives on (Ray sees nothing wrong) but never answers. Only the dispatcher's deadline can
    # tell; the slot must then get a new process, or it would swallow every run sent to it.
    events = Finished()
    dispatcher = await started_dispatcher(events, run_timeout=5.0)
    try:
        user = await make_user()
        run_id = await submit(dispatcher, user, "import time\nprint('a', flush=True)\ntime.sleep(1.5)\nprint('b')")
        assert await kill_a_running_slot(dispatcher, signal.SIGSTOP) == run_id
        [row] = await wait_finished([run_id], within=90)
        assert (row["verdict"], row["stdout"], row["attempts"]) == ("ok", "a\nb\n", 2)
        for _ in range(600):  # ...and the stopped slot comes back as a new process
            if len(dispatcher.fleet.ready()) == 2:
                break
            await asyncio.sleep(0.1)
        fleet = dispatcher.fleet
        assert isinstance(fleet, RayFleet)
        assert len(fleet.ready()) == 2, fleet.slots()
        for slot in fleet.ready():  # a stopped process could not answer
            await asyncio.wait_for(fleet.pid(slot), 10)
        more = [await submit(dispatcher, await make_user(f"m{i}"), f"print({i})") for i in range(6)]
        rows = await wait_finished(more, within=60)
        assert sorted(r["stdout"] for r in rows) == [f"{i}\n" for i in range(6)]
        assert {r["attempts"] for r in rows} == {1}  # none was sent to a slot that swallowed it
    finally:
        await dispatcher.stop()


async def test_200_runs_through_slot_kills_and_a_dispatcher_crash_each_end_once(db: None) -> None:
    events = Finished()
    # Four faults are injected (three slot kills, one dispatcher crash) and one unlucky run may meet all of them:
    # with one attempt more than that, every run must end ok; with the default 3 it could rightly give up.
    attempts = 5
    first = await started_dispatcher(events, max_attempts=attempts)
    users = [await make_user(f"u{i}") for i in range(20)]
    ids = [
        await submit(first, users[i % 20], f"import time\ntime.sleep(0.02 * {i % 5})\nprint({i})") for i in range(200)
    ]
    await kill_a_running_slot(first)
    await asyncio.sleep(0.5)
    await kill_a_running_slot(first)
    await asyncio.sleep(0.5)
    await first.stop(graceful=False)  # a crash: its leases are left to expire
    second = await started_dispatcher(events, max_attempts=attempts)  # the restart: recovers queued and expired runs
    try:
        await second.fleet.reconcile()
        await kill_a_running_slot(second)
        try:
            rows = await wait_finished(ids, within=240)
        except AssertionError as exc:
            fleet = second.fleet
            assert isinstance(fleet, RayFleet)
            raise AssertionError(f"{exc}\nslots: {fleet.slots()}\nstats: {second.stats}") from None
    finally:
        await second.stop()
    by_id = {str(r["id"]): r for r in rows}
    assert len(by_id) == 200
    assert {r["verdict"] for r in rows} == {"ok"}, collections.Counter(r["verdict"] for r in rows)
    assert all(by_id[i]["stdout"] == f"{n}\n" for n, i in enumerate(ids))
    assert all(events.count[i] <= 1 for i in ids)  # recorded at most once by anyone...
    assert await Run.count().where(Run.status != "finished").run() == 0  # ...and every one recorded
    assert max(r["attempts"] for r in rows) >= 2  # the faults did hit runs


async def test_a_student_flooding_50_runs_does_not_delay_another_by_more_than_one_run(db: None) -> None:
    run_seconds = 0.3
    dispatcher = await started_dispatcher(Finished())
    try:
        flooder, other = await make_user("flood"), await make_user("other")
        flood = [await submit(dispatcher, flooder, f"import time; time.sleep({run_seconds})") for _ in range(50)]
        await asyncio.sleep(1.0)  # the flood is under way
        t0 = asyncio.get_running_loop().time()
        mine = await submit(dispatcher, other, "print('mine')")
        [row] = await wait_finished([mine], within=30)
        waited = asyncio.get_running_loop().time() - t0
        assert row["stdout"] == "mine\n"
        assert waited < run_seconds + 0.5, waited  # at most about one run time (+ the run itself)
        assert await Run.count().where(Run.id.is_in(flood) & (Run.status == "finished")).run() < 50
    finally:
        await dispatcher.stop()
