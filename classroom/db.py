"""The database engine: built from a URL, bound to every table, migrated, started and stopped.

SQLite (one file, the one-machine default) and PostgreSQL (production) are both first-class; tests run the same
table tests against each. Binding is explicit so that one process can switch engines (tests) and nothing reads
configuration at import time.

Connections are reused once an engine is started (:func:`start`, the app's ``database`` component): PostgreSQL
through asyncpg's pool, SQLite through :class:`PooledSQLiteEngine`'s few persistent connections in WAL mode.
piccolo's own SQLite engine opens a connection — and a thread — per query, which costs more than the query.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosqlite
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table

from classroom.errors import SettingsError

log = logging.getLogger(__name__)

# Several connections (and processes) share one SQLite file: give writers time to wait for the lock, not fail.
SQLITE_TIMEOUT_SECONDS = 30
SQLITE_POOL_SIZE = 4  # WAL readers run side by side; writers take turns on the file's one write lock anyway
POSTGRES_POOL = {"min_size": 1, "max_size": 10}


class _SQLiteConnection(sqlite3.Connection):
    """Every connection piccolo opens (one per query) gets the pragmas that make SQLite a sound server store."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Under WAL, NORMAL syncs at checkpoints instead of every commit: a crash of the process loses nothing,
        # a power cut may lose the last commits. It takes a fsync (6-12 ms here) off every insert.
        self.execute("PRAGMA synchronous=NORMAL")


class _Pool:
    """At most ``size`` persistent aiosqlite connections of one event loop (the loop that started it)."""

    def __init__(self, engine: PooledSQLiteEngine, size: int) -> None:
        self.engine = engine
        self.loop = asyncio.get_running_loop()
        self.free = asyncio.Semaphore(size)
        self.idle: list[aiosqlite.Connection] = []
        self.closed = False
        self._closing: set[asyncio.Task[None]] = set()

    async def acquire(self) -> aiosqlite.Connection:
        await self.free.acquire()
        try:
            return self.idle.pop() if self.idle else await self.engine.connect()
        except BaseException:
            self.free.release()
            raise

    def release(self, connection: aiosqlite.Connection, *, healthy: bool) -> None:
        """Back to the pool; a connection whose state is unknown (a query cancelled mid-way, a failed commit or
        rollback) is closed instead, so the next user never inherits an open transaction or a live statement."""
        if healthy and not self.closed:
            self.idle.append(connection)
        else:
            task = asyncio.ensure_future(_close_quietly(connection))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        self.free.release()

    async def close(self) -> None:
        self.closed = True
        idle, self.idle = self.idle, []
        await asyncio.gather(*(_close_quietly(c) for c in idle), *self._closing)


async def _close_quietly(connection: aiosqlite.Connection) -> None:
    with contextlib.suppress(Exception):
        await connection.close()


class _PooledTransaction(SQLiteTransaction):
    """piccolo's SQLite transaction on a pooled connection: given back (not closed) at the end."""

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        pool: _Pool = self.engine._pool  # type: ignore[attr-defined]
        self.connection = await pool.acquire()
        try:
            await self.begin()  # type: ignore[no-untyped-call]
        except sqlite3.Error:  # BEGIN IMMEDIATE timed out on the lock: nothing began
            pool.release(self.connection, healthy=not self.connection.in_transaction)
            raise
        except BaseException:  # cancelled half-way: the connection's state is unknown
            pool.release(self.connection, healthy=False)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        healthy = False
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()  # type: ignore[no-untyped-call]
            elif not self._committed and not self._rolled_back:
                await self.commit()  # type: ignore[no-untyped-call]
            healthy = not self.connection.in_transaction
        finally:
            self.engine.current_transaction.reset(self.context)
            self.engine._pool.release(self.connection, healthy=healthy)  # type: ignore[attr-defined]
        return exception is None


class PooledSQLiteEngine(SQLiteEngine):
    """piccolo's SQLite engine that, once :meth:`start_pool` ran, keeps up to :data:`SQLITE_POOL_SIZE` connections
    open (each with its own aiosqlite thread) instead of opening one per query.

    Contract: the same as piccolo's engine — each query outside a transaction commits on its own (autocommit, so a
    read on any pooled connection sees every commit before it); a transaction holds one connection from its
    ``BEGIN`` to its ``COMMIT``/``ROLLBACK`` and other tasks' queries use the others. A connection goes back to the
    pool only when it is idle (no open transaction, no unfinished statement); anything else is closed. Before
    :meth:`start_pool`, after :meth:`close_pool`, and from another event loop than the one that started the pool,
    queries take a connection of their own, as piccolo's engine does (the CLI, tests and Ray actors use engines
    that way too).
    """

    def __init__(self, path: str, *, pool_size: int = SQLITE_POOL_SIZE, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self.pool_size = pool_size
        self._pool: _Pool | None = None

    async def start_pool(self) -> None:
        if self._pool is None:
            self._pool = _Pool(self, self.pool_size)
            # WAL: readers never wait for the writer, and a commit appends instead of rewriting pages.
            await self.run_ddl("PRAGMA journal_mode=WAL")

    async def close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def connect(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # The connection's thread must not keep the interpreter alive if a stop never comes (a killed actor).
        thread = getattr(connection, "_thread", None)
        if thread is not None:
            thread.daemon = True
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    def _live_pool(self) -> _Pool | None:
        pool = self._pool
        if pool is None or pool.closed:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return pool if pool.loop is loop else None

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        if self._live_pool() is None:
            return super().transaction(transaction_type=transaction_type, allow_nested=allow_nested)
        return _PooledTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        pool = self._live_pool()
        if pool is None:
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await pool.acquire()
        healthy = False
        try:
            async with connection.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
            healthy = not connection.in_transaction
            return rows
        except sqlite3.Error:
            # The statement failed and ended (a constraint, a busy timeout): the connection is as good as before.
            healthy = not connection.in_transaction
            raise
        finally:
            pool.release(connection, healthy=healthy)

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        # piccolo sets the foreign_keys pragma again before every statement of a transaction: a round trip to the
        # connection's thread each. Every connection here already has it (connect(), or piccolo's get_connection).
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()


def write_transaction(engine: Engine[Any]) -> AbstractAsyncContextManager[Any]:
    """A transaction that writes. On SQLite it takes the write lock up front (IMMEDIATE): a deferred one that
    reads first fails with "database is locked" at once when another process wrote meanwhile, whatever the
    busy timeout."""
    if isinstance(engine, SQLiteEngine):
        sqlite: AbstractAsyncContextManager[Any] = engine.transaction(transaction_type=TransactionType.immediate)
        return sqlite
    other: AbstractAsyncContextManager[Any] = engine.transaction()
    return other


def engine_from_url(url: str) -> Engine[Any]:
    """An unstarted engine for ``sqlite:///PATH`` or ``postgres://USER[:PASS]@HOST[:PORT]/DB``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise SettingsError(f"CLASSROOM_DATABASE_URL={url!r} is not allowed: expected sqlite:///PATH")
        _create_private(Path(path))
        return PooledSQLiteEngine(path, timeout=SQLITE_TIMEOUT_SECONDS, factory=_SQLiteConnection)
    if parts.scheme in ("postgres", "postgresql"):
        return PostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})
    raise SettingsError(f"CLASSROOM_DATABASE_URL={url!r} is not allowed: expected sqlite:// or postgres://")


def _create_private(path: Path) -> None:
    """Create the SQLite file 0600 (its directory 0700) before SQLite does: SQLite would make it 0644, and its
    journal and WAL files copy the database's mode. An existing file keeps its mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


_bound: Engine[Any] | None = None


def bound_engine() -> Engine[Any]:
    """The engine :func:`bind` set; before any bind (piccolo's own CLI), one from ``CLASSROOM_DATABASE_URL``."""
    global _bound
    if _bound is None:
        _bound = engine_from_url(os.environ.get("CLASSROOM_DATABASE_URL") or "sqlite:///data/classroom.sqlite")
    return _bound


def bind(engine: Engine[Any]) -> None:
    """Make every table (ours and piccolo's migration table) and piccolo's engine finder
    (:mod:`classroom.piccolo_conf`, named by ``PICCOLO_CONF``) use ``engine``."""
    global _bound
    from classroom.tables import TABLES

    os.environ.setdefault("PICCOLO_CONF", "classroom.piccolo_conf")
    _bound = engine
    tables: list[type[Table]] = [*TABLES, Migration]
    for table in tables:
        table._meta.db = engine


# pg_advisory_lock key held while migrating ("classroo" in ASCII): one replica migrates, the others wait and
# then find nothing left to do.
_MIGRATION_LOCK_KEY = 0x636C617373726F6F


async def migrate(engine: Engine[Any]) -> list[str]:
    """Bring the schema up to date; return the names of the migrations that ran now. Replicas (or a Job and a
    starting pod) migrating the same database at once take turns: on PostgreSQL under an advisory lock, on SQLite
    under a lock file beside the database; without that, both would CREATE TABLE and one would fail."""
    async with _migration_lock(engine):
        return await _migrate(engine)


@contextlib.asynccontextmanager
async def _migration_lock(engine: Engine[Any]) -> AsyncIterator[None]:
    if isinstance(engine, PostgresEngine):
        conn = await engine.get_new_connection()
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
        finally:
            await conn.close()
    elif isinstance(engine, SQLiteEngine):
        path = Path(str(engine.path) + ".migrate-lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock
    else:
        yield


async def _migrate(engine: Engine[Any]) -> list[str]:
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

    bind(engine)
    if isinstance(engine, SQLiteEngine):
        # WAL lets readers proceed while the persistence log writes.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    before = set(await _applied())
    # piccolo narrates each step on stdout; the caller reports what ran instead.
    with contextlib.redirect_stdout(io.StringIO()):
        result = await ForwardsMigrationManager(app_name="classroom", migration_id="all", fake=False).run()
    if not result.success:
        raise RuntimeError(f"database migration failed: {result.message}")
    return sorted(set(await _applied()) - before)


async def _applied() -> list[str]:
    if not await Migration.table_exists().run():
        return []
    return list(await Migration.get_migrations_which_ran(app_name="classroom"))


async def start(engine: Engine[Any]) -> None:
    """Open the engine's connection pool: asyncpg's (PostgreSQL), or a few persistent connections in WAL mode
    (SQLite). Queries from this event loop reuse them until :func:`stop`."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(**POSTGRES_POOL)
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.start_pool()


async def stop(engine: Engine[Any]) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.close_pool()


async def ping(engine: Engine[Any]) -> None:
    """Raise if the database cannot answer a trivial query."""
    await engine.run_ddl("SELECT 1")
