"""The database engine: built from a URL, bound to every table, migrated, started and stopped.

SQLite (one file, the one-machine default) and PostgreSQL (production) are both first-class; tests run the same
table tests against each. Binding is explicit so that one process can switch engines (tests) and nothing reads
configuration at import time.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from classroom.errors import SettingsError

# piccolo's SQLite engine opens a connection per query: give writers time to wait for the lock instead of failing.
SQLITE_TIMEOUT_SECONDS = 30


class _SQLiteConnection(sqlite3.Connection):
    """Every connection piccolo opens (one per query) gets the pragmas that make SQLite a sound server store."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Under WAL, NORMAL syncs at checkpoints instead of every commit: a crash of the process loses nothing,
        # a power cut may lose the last commits. It takes a fsync (6-12 ms here) off every insert.
        self.execute("PRAGMA synchronous=NORMAL")


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
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=path, timeout=SQLITE_TIMEOUT_SECONDS, factory=_SQLiteConnection)
    if parts.scheme in ("postgres", "postgresql"):
        return PostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})
    raise SettingsError(f"CLASSROOM_DATABASE_URL={url!r} is not allowed: expected sqlite:// or postgres://")


def bind(engine: Engine[Any]) -> None:
    """Make every table (ours and piccolo's migration table) and piccolo's engine finder use ``engine``."""
    from classroom import piccolo_conf
    from classroom.tables import TABLES

    os.environ.setdefault("PICCOLO_CONF", "classroom.piccolo_conf")
    piccolo_conf.DB = engine
    tables: list[type[Table]] = [*TABLES, Migration]
    for table in tables:
        table._meta.db = engine


async def migrate(engine: Engine[Any]) -> list[str]:
    """Bring the schema up to date; return the names of the migrations that ran now."""
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
    """Open the connection pool (PostgreSQL); SQLite connects per query."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=10)


async def stop(engine: Engine[Any]) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


async def ping(engine: Engine[Any]) -> None:
    """Raise if the database cannot answer a trivial query."""
    await engine.run_ddl("SELECT 1")
