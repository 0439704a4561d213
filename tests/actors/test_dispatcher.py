"""The dispatcher's logic with real sandboxes, in this process (LocalFleet: the same slot class, no Ray)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from runs_helpers import backend_or_skip, make_user, submit, wait_finished

from actors.dispatcher import Dispatcher
from actors.fleet import LocalFleet
from classroom.stores.run_queue import PiccoloRunQueue

pytestmark = [pytest.mark.anyio, pytest.mark.sandbox]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def started(self, run_id: str, attempt: int, slot: str) -> None:
        self.events.append(("started", run_id))

    def output(self, run_id: str, chunks: list[list[str]]) -> None:
        self.events.append(("output", "".join(c[1] for c in chunks)))

    def retry(self, run_id: str, attempt: int, reason: str) -> None:
        self.events.append(("retry", reason))

    def finished(self, run_id: str, result: dict[str, Any], run: Any) -> None:
        self.events.append(("finished", result["verdict"]))


@pytest.fixture
async def dispatcher(sqlite_database: Any) -> AsyncIterator[Dispatcher]:
    await backend_or_skip()
    rec = Recorder()
    d = Dispatcher(LocalFleet(2, {"warm": 1}), PiccoloRunQueue(), events=rec, tick_seconds=0.2, lease_seconds=5)
    await d.start()
    yield d
    await d.stop()


async def test_a_run_streams_and_records_its_result_once(dispatcher: Dispatcher) -> None:
    user = await make_user()
    run_id = await submit(dispatcher, user, "print('hello'); import sys; print('oops', file=sys.stderr)")
    [row] = await wait_finished([run_id])
    assert (row["verdict"], row["stdout"], row["stderr"], row["exit_code"]) == ("ok", "hello\n", "oops\n", 0)
    assert row["attempts"] == 1 and row["wall_ms"] is not None
    rec = dispatcher.events
    assert isinstance(rec, Recorder)
    assert [e for e in rec.events if e[0] == "finished"] == [("finished", "ok")]
    # a second finish of the same run changes nothing
    assert not await dispatcher.queue.finish(run_id, {"verdict": "internal_error"})


async def test_stdin_round_trip_and_cancel(dispatcher: Dispatcher) -> None:
    user = await make_user()
    echo = await submit(dispatcher, user, "name = input('name? ')\nprint('hi', name)", interactive=True)
    await dispatcher.send_stdin(echo, "Ada\n")
    loop = await submit(dispatcher, await make_user("other"), "while True: pass")
    await asyncio.sleep(0.5)
    assert await dispatcher.cancel(loop)
    rows = {r["id"].hex: r for r in await wait_finished([echo, loop], within=20)}
    assert rows[echo.replace("-", "")]["stdout"] == "name? hi Ada\n"
    assert rows[loop.replace("-", "")]["verdict"] == "cancelled"


async def test_one_student_flooding_does_not_delay_another(dispatcher: Dispatcher) -> None:
    flooder, other = await make_user("flood"), await make_user("other")
    flood = [await submit(dispatcher, flooder, "import time; time.sleep(0.2)") for _ in range(12)]
    await asyncio.sleep(0.1)
    t0 = asyncio.get_running_loop().time()
    mine = await submit(dispatcher, other, "print(1)")
    await wait_finished([mine])
    assert asyncio.get_running_loop().time() - t0 < 0.2 + 0.5  # at most about one run time
    await wait_finished(flood, within=60)


async def test_the_hot_path_starts_before_the_row_is_written_and_records_after(dispatcher: Dispatcher) -> None:
    import uuid
    from datetime import UTC, datetime

    from actors.queue import QueuedRun
    from classroom.tables import Run

    user = await make_user()
    now = datetime.now(UTC)
    spec = {"files": {"main.py": "print('fast')"}, "entry": "main.py", "stdin": "", "args": [], "interactive": False}
    ok_id, lost_id = str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(100):
        if dispatcher.fleet.ready():
            break
        await asyncio.sleep(0.1)
    token = dispatcher.start_now(QueuedRun(ok_id, user, None, None, 0, now), spec)
    assert token is not None
    row = Run(
        id=uuid.UUID(ok_id),
        user=uuid.UUID(user),
        files=spec["files"],
        status="running",
        slot=token,
        attempts=1,
        created_at=now,
    )
    await PiccoloRunQueue().insert(row)
    dispatcher.confirm(ok_id)
    [done] = await wait_finished([ok_id])
    assert (done["verdict"], done["stdout"]) == ("ok", "fast\n")
    # an insert that fails: the run is stopped and nothing is recorded for it
    other = await make_user("other")
    assert dispatcher.start_now(QueuedRun(lost_id, other, None, None, 0, now), spec) is not None
    dispatcher.abort(lost_id)
    await asyncio.sleep(0.5)
    assert not dispatcher.is_local(lost_id)
    assert await Run.count().where(Run.id == uuid.UUID(lost_id)).run() == 0


async def test_a_result_that_comes_before_the_insert_commits_is_recorded(dispatcher: Dispatcher) -> None:
    """The hot path's race: the run ends (and leaves the dispatcher's flights) before its row is committed. The
    result must wait for the commit and then be recorded, not wait forever (the run would sit ``running`` until
    its lease expired and then run a second time)."""
    import uuid
    from datetime import UTC, datetime

    from actors.queue import QueuedRun
    from classroom.tables import Run

    user = await make_user("racer")
    now = datetime.now(UTC)
    spec = {"files": {"main.py": "print('first')"}, "entry": "main.py", "stdin": "", "args": [], "interactive": False}
    run_id = str(uuid.uuid4())
    for _ in range(100):
        if dispatcher.fleet.ready():
            break
        await asyncio.sleep(0.1)
    token = dispatcher.start_now(QueuedRun(run_id, user, None, None, 0, now), spec)
    assert token is not None
    for _ in range(400):  # a slow database: the slot answers before the insert below
        if not dispatcher.is_local(run_id):
            break
        await asyncio.sleep(0.05)
    assert not dispatcher.is_local(run_id)
    row = Run(
        id=uuid.UUID(run_id),
        user=uuid.UUID(user),
        files=spec["files"],
        status="running",
        slot=token,
        attempts=1,
        created_at=now,
    )
    await PiccoloRunQueue().insert(row)
    dispatcher.confirm(run_id)
    [done] = await wait_finished([run_id], within=10)
    assert (done["verdict"], done["stdout"]) == ("ok", "first\n")


async def test_runs_that_no_slot_can_run_fail_with_the_reason(sqlite_database: Any) -> None:
    d = Dispatcher(
        LocalFleet(1, {"backend": "no-such-backend"}), PiccoloRunQueue(), tick_seconds=0.1, stuck_seconds=0.3
    )
    await d.start()
    try:
        run_id = await submit(d, await make_user(), "print(1)")
        [row] = await wait_finished([run_id], within=10)
    finally:
        await d.stop()
    assert row["verdict"] == "internal_error" and "no-such-backend" in row["internal_reason"]
    assert row["stdout"] == "" and row["attempts"] == 0  # never ran, anywhere


async def test_a_graceful_stop_puts_runs_in_flight_back_without_spending_an_attempt(sqlite_database: Any) -> None:
    await backend_or_skip()
    from classroom.tables import Run

    d = Dispatcher(LocalFleet(1, {"warm": 1}), PiccoloRunQueue(), tick_seconds=0.1)
    await d.start()
    run_id = await submit(d, await make_user(), "while True: pass")
    for _ in range(200):
        if any(f.started for f in d._flights.values()):
            break
        await asyncio.sleep(0.05)
    await d.stop(graceful=True)
    row = await Run.select(Run.status, Run.attempts, Run.slot).where(Run.id == run_id).first().run()
    assert row is not None and (row["status"], row["attempts"], row["slot"]) == ("queued", 0, None)
