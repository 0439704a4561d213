"""Two dispatchers (two web replicas) on one database: no run is taken twice, each is recorded once."""

from __future__ import annotations

import collections
from typing import Any

import pytest
from runs_helpers import backend_or_skip, make_user, submit, wait_finished

from actors.dispatcher import Dispatcher
from actors.fleet import LocalFleet
from classroom.stores.run_queue import PiccoloRunQueue

pytestmark = [pytest.mark.anyio, pytest.mark.sandbox]


class Count:
    def __init__(self) -> None:
        self.finished: collections.Counter[str] = collections.Counter()
        self.started: collections.Counter[str] = collections.Counter()


class Events:
    def __init__(self, count: Count) -> None:
        self.count = count

    def started(self, run_id: str, attempt: int, slot: str) -> None:
        self.count.started[run_id] += 1

    def output(self, run_id: str, chunks: list[list[str]]) -> None:
        pass

    def retry(self, run_id: str, attempt: int, reason: str) -> None:
        pass

    def finished(self, run_id: str, result: dict[str, Any], run: Any) -> None:
        self.count.finished[run_id] += 1


async def test_two_dispatchers_share_a_queue_without_double_claims(sqlite_database: Any) -> None:
    await backend_or_skip()
    count = Count()
    first = Dispatcher(LocalFleet(1, {"warm": 1}), PiccoloRunQueue(), events=Events(count), tick_seconds=0.1)
    second = Dispatcher(LocalFleet(1, {"warm": 1}), PiccoloRunQueue(), events=Events(count), tick_seconds=0.1)
    await first.start()
    await second.start()
    try:
        users = [await make_user(f"u{i}") for i in range(6)]
        # Every run is offered to both dispatchers' memories: only the atomic claim decides who runs it.
        ids = []
        for i in range(24):
            run_id = await submit(first, users[i % 6], f"print({i})")
            if run_id in first._queued:
                second.accept(first._queued[run_id])
            ids.append(run_id)
        rows = await wait_finished(ids, within=120)
    finally:
        await first.stop()
        await second.stop()
    assert {r["attempts"] for r in rows} == {1}
    assert all(count.started[i] == 1 and count.finished[i] == 1 for i in ids)
    assert first.stats["dispatched"] > 0 and second.stats["dispatched"] > 0
    assert not await first.queue.finish(ids[0], {"verdict": "ok"})  # recorded once, for good
