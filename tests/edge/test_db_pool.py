"""Reused database connections (issue 15): a started engine keeps its connections — SQLite a few persistent ones
in WAL mode (:class:`classroom.db.PooledSQLiteEngine`), PostgreSQL asyncpg's pool — and stays correct under
concurrency: transactions see their own writes and nobody else's until they commit, a failed or cancelled one
leaves nothing open behind it, and queries from another event loop still work."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from piccolo.engine.base import Engine

from classroom import db
from classroom.tables import User

pytestmark = pytest.mark.anyio


def _user(name: str) -> User:
    return User(id=uuid.uuid4(), role="student", display_name=name, created_at=datetime.now(UTC))


async def _count() -> int:
    return int(await User.count().run())


async def test_a_started_sqlite_engine_reuses_a_few_connections_in_wal_mode(tmp_path: Path) -> None:
    engine = db.engine_from_url(f"sqlite:///{tmp_path / 'pool.sqlite'}")
    assert isinstance(engine, db.PooledSQLiteEngine)
    await db.migrate(engine)
    threads = threading.active_count()
    await db.start(engine)
    try:
        assert (await engine.run_ddl("PRAGMA journal_mode"))[0]["journal_mode"] == "wal"
        await asyncio.gather(*(_count() for _ in range(50)))
        for _ in range(50):
            await _user("Ann").save().run()
        assert await _count() == 50
        # Each connection is one aiosqlite thread: at most the pool's size, however many queries ran.
        assert threading.active_count() - threads <= engine.pool_size
        pool = engine._pool
        assert pool is not None and 1 <= len(pool.idle) <= engine.pool_size
        first = pool.idle[-1]
        await _count()
        assert pool.idle[-1] is first  # the same connection, again
    finally:
        await db.stop(engine)
    assert await _count() == 50  # stopped: a connection per query again, as piccolo's engine does
    for _ in range(200):  # the closed connections' threads end on their own, a moment after close()
        if threading.active_count() == threads:
            break
        await asyncio.sleep(0.01)
    assert threading.active_count() == threads


@pytest.fixture
async def started(database: Engine[Any]) -> Any:
    await db.start(database)
    yield database
    await db.stop(database)


async def test_concurrent_transactions_are_isolated(started: Engine[Any]) -> None:
    engine = started
    await _user("before").save().run()
    inside, release = asyncio.Event(), asyncio.Event()

    async def write(wait: bool = False) -> None:
        async with db.write_transaction(engine):
            await _user("in a transaction").save().run()
            seen = await _count()  # its own write, on its own connection
            assert seen >= 2
            if wait:
                inside.set()
                await release.wait()

    holder = asyncio.create_task(write(wait=True))
    await inside.wait()
    # Not committed yet: another connection of the pool reads without it, and without waiting for the writer.
    assert await asyncio.wait_for(_count(), timeout=5) == 1
    others = [asyncio.create_task(write()) for _ in range(12)]  # more than the pool holds: they take turns
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.wait_for(asyncio.gather(holder, *others), timeout=30)
    assert await _count() == 14


async def test_a_failed_or_cancelled_transaction_leaves_nothing_open(started: Engine[Any]) -> None:
    engine = started
    with pytest.raises(RuntimeError):
        async with db.write_transaction(engine):
            await _user("rolled back").save().run()
            raise RuntimeError("boom")
    assert await _count() == 0

    entered = asyncio.Event()

    async def cancelled() -> None:
        async with db.write_transaction(engine):
            await _user("cancelled").save().run()
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(cancelled())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The write lock was given back: the next writers go ahead at once instead of waiting out a busy timeout.
    await asyncio.wait_for(asyncio.gather(*(_user(f"after {i}").save().run() for i in range(8))), timeout=10)
    assert await _count() == 8
    pool = getattr(engine, "_pool", None)
    if pool is not None:
        assert all(not c.in_transaction for c in pool.idle)


async def test_another_event_loop_gets_a_connection_of_its_own(tmp_path: Path) -> None:
    engine = db.engine_from_url(f"sqlite:///{tmp_path / 'loops.sqlite'}")
    await db.migrate(engine)
    await db.start(engine)
    try:
        await _user("here").save().run()
        with concurrent.futures.ThreadPoolExecutor(1) as other:
            assert other.submit(asyncio.run, _count()).result() == 1
    finally:
        await db.stop(engine)
