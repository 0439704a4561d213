"""The room document store on the database: :class:`collab.DocumentStore` over the piccolo tables
``DocumentUpdate`` (the durable log) and ``DocumentSnapshot`` (compactions).

Room ids are the ``rooms`` table's UUIDs; appending for a room that does not exist fails (the foreign key), which
the edge prevents by authorizing the connection first. ``seq`` is allocated inside the appending transaction
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a per-room advisory lock), so two replicas logging the same room still
get distinct, ordered numbers. The log is never pruned: it is the history runs are rebuilt from.

On SQLite the log is appended through one connection of the store's own, kept open on one thread: the manager
appends every 100 ms while a room is busy, and piccolo's engine opens a connection and a thread per query, which
cost ~4 ms of CPU per append against ~0.2 ms (load/bench_collab.py: the 2-client room's CPU per edit was 2.6x the
in-memory store's). Values go through the same ``sqlite3`` adapters piccolo registers, so rows read back alike.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.query.functions.aggregate import Max

from classroom.db import SQLITE_TIMEOUT_SECONDS, write_transaction
from classroom.tables import DocumentSnapshot, DocumentUpdate
from collab.store import DocumentStore, LogEntry, StoredDocument

# Entries logged just before a snapshot are re-applied on load: another replica may have logged an update with a
# smaller seq that the compacting replica had not received yet. Re-applying a Yjs update is a no-op otherwise.
REPLAY_OVERLAP = 200
ROWS_PER_INSERT = 1000


class PiccoloDocumentStore(DocumentStore):
    """A DocumentStore on the bound piccolo engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine[Any]) -> None:
        self._appender = _SQLiteAppender(str(engine.path)) if isinstance(engine, SQLiteEngine) else None

    def close(self) -> None:
        """Close the SQLite appender's connection and thread (the store is not used afterwards)."""
        if self._appender is not None:
            self._appender.close()

    async def load(self, room_id: str) -> StoredDocument:
        room = uuid.UUID(room_id)
        snapshot = (
            await DocumentSnapshot.select(DocumentSnapshot.state, DocumentSnapshot.upto_seq)
            .where(DocumentSnapshot.room == room)
            .order_by(DocumentSnapshot.upto_seq, ascending=False)
            .first()
        )
        upto = int(snapshot["upto_seq"]) if snapshot else 0
        rows = (
            await DocumentUpdate.select(DocumentUpdate.seq, DocumentUpdate.data)
            .where((DocumentUpdate.room == room) & (DocumentUpdate.seq > upto - REPLAY_OVERLAP))
            .order_by(DocumentUpdate.seq)
        )
        last = max([upto, *(int(r["seq"]) for r in rows)])
        return StoredDocument(bytes(snapshot["state"]) if snapshot else None, [bytes(r["data"]) for r in rows], last)

    async def append(self, room_id: str, updates: Sequence[tuple[bytes, datetime]]) -> int:
        return (await self.append_many({room_id: updates}))[room_id]

    async def append_many(self, batches: Mapping[str, Sequence[tuple[bytes, datetime]]]) -> dict[str, int]:
        """Every room's batch in one transaction (one commit per flush tick, however many rooms are busy)."""
        names = {uuid.UUID(room_id): room_id for room_id in batches}
        rooms = sorted(names)
        if self._appender is not None:
            seqs = await self._appender.append({room: batches[names[room]] for room in rooms})
            return {name: seqs[room] for room, name in names.items()}
        engine = _bound()
        async with write_transaction(engine):
            if isinstance(engine, PostgresEngine):
                for room in rooms:  # sorted: two replicas lock in the same order, so they cannot deadlock
                    await engine.run_ddl(f"SELECT pg_advisory_xact_lock(hashtext('{room}'))")
            last = (
                await DocumentUpdate.select(DocumentUpdate.room, Max(DocumentUpdate.seq, alias="last"))
                .where(DocumentUpdate.room.is_in(rooms))
                .group_by(DocumentUpdate.room)
            )
            seqs = {_uuid(row["room"]): int(row["last"]) for row in last if row["last"] is not None}
            values: list[Any] = []
            for room in rooms:
                seq = seqs.get(room, 0)
                for data, at in batches[names[room]]:
                    seq += 1
                    values += (uuid.uuid4(), room, seq, data, at)
                seqs[room] = seq
            # Raw multi-row INSERTs: building a Table object per row cost ~5 ms of event-loop time per tick at
            # 50 busy rooms. Chunked: both engines cap the parameters of one statement (~32k), and a backlog
            # after a database outage can be far larger.
            for start in range(0, len(values), ROWS_PER_INSERT * 5):
                chunk = values[start : start + ROWS_PER_INSERT * 5]
                rows = ", ".join(["({}, {}, {}, {}, {})"] * (len(chunk) // 5))
                await DocumentUpdate.raw(
                    f"INSERT INTO document_updates (id, room, seq, data, created_at) VALUES {rows}", *chunk
                )
        return {name: seqs[room] for room, name in names.items()}

    async def compact(self, room_id: str, state: bytes, state_vector: bytes, upto_seq: int) -> None:
        room = uuid.UUID(room_id)
        async with self._transaction():
            await DocumentSnapshot.insert(
                DocumentSnapshot(
                    room=room, upto_seq=upto_seq, state=state, state_vector=state_vector, created_at=datetime.now(UTC)
                )
            )
            # Older snapshots are superseded; the log keeps the history.
            await DocumentSnapshot.delete().where(
                (DocumentSnapshot.room == room) & (DocumentSnapshot.upto_seq < upto_seq)
            )

    async def history(self, room_id: str, after_seq: int = 0) -> list[LogEntry]:
        rows = (
            await DocumentUpdate.select(DocumentUpdate.seq, DocumentUpdate.data, DocumentUpdate.created_at)
            .where((DocumentUpdate.room == uuid.UUID(room_id)) & (DocumentUpdate.seq > after_seq))
            .order_by(DocumentUpdate.seq)
        )
        return [LogEntry(int(r["seq"]), bytes(r["data"]), _utc(r["created_at"])) for r in rows]

    def _transaction(self) -> AbstractAsyncContextManager[Any]:
        # On the engine the tables are bound to, which runs the queries inside: a transaction opened on another
        # engine object (tests rebind the tables) would hold SQLite's write lock while the queries wait for it.
        return write_transaction(_bound())


class _SQLiteAppender:
    """Appends to ``document_updates`` through one SQLite connection on one thread of its own (see the module
    docstring). Each append is one ``BEGIN IMMEDIATE`` transaction: seqs continue from the log's maximum, so another
    process appending to the same file still gets distinct, ordered numbers."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="document-log")
        self._connection: sqlite3.Connection | None = None

    async def append(self, batches: Mapping[uuid.UUID, Sequence[tuple[bytes, datetime]]]) -> dict[uuid.UUID, int]:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._append, batches)

    def close(self) -> None:
        def shut() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        try:
            self._thread.submit(shut)
        except RuntimeError:  # the interpreter is exiting (no new work for any executor): close from here
            shut()
        self._thread.shutdown(wait=True)

    def _append(self, batches: Mapping[uuid.UUID, Sequence[tuple[bytes, datetime]]]) -> dict[uuid.UUID, int]:
        if self._connection is None:
            # Autocommit mode: the transaction is the explicit BEGIN IMMEDIATE below. check_same_thread is off
            # only so close() may run on the same single worker thread through the executor.
            connection = sqlite3.connect(
                self._path, timeout=SQLITE_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA synchronous=NORMAL")  # as every piccolo connection (classroom.db)
            self._connection = connection
        connection = self._connection
        rooms = list(batches)
        connection.execute("BEGIN IMMEDIATE")
        try:
            marks = ", ".join("?" * len(rooms))
            last = connection.execute(
                f"SELECT room, MAX(seq) FROM document_updates WHERE room IN ({marks}) GROUP BY room", rooms
            ).fetchall()
            seqs = {_uuid(room): int(seq) for room, seq in last if seq is not None}
            rows: list[tuple[uuid.UUID, uuid.UUID, int, bytes, datetime]] = []
            for room in rooms:
                seq = seqs.get(room, 0)
                for data, at in batches[room]:
                    seq += 1
                    rows.append((uuid.uuid4(), room, seq, data, at))
                seqs[room] = seq
            connection.executemany(
                "INSERT INTO document_updates (id, room, seq, data, created_at) VALUES (?, ?, ?, ?, ?)", rows
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return seqs


def _bound() -> Engine[Any]:
    engine: Engine[Any] = DocumentUpdate._meta.db
    return engine


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
