"""The analytics actor's store on the database (:class:`actors.analytics_store.AnalyticsStore`, piccolo tables).

Events are written once per run (a run id already stored is a duplicate: the pipeline may resend a batch after
a failure). References to rows that no longer exist (a deleted room, class or user) are stored as null rather
than failing the batch, because outcomes arrive after the fact. The store uses the engine bound in this process
by :func:`classroom.db.bind` (the web process's own, or the one :class:`classroom.stores.PiccoloStores` binds in
the actor's Ray worker).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from piccolo.table import Table

from actors.analytics_store import StoredRows
from analytics import AggregateRow, Outcome
from classroom.db import write_transaction
from classroom.tables import AnalyticsAggregate, AnalyticsEvent, Class, Enrollment, Room, Run, User


async def _existing(table: type[Table], ids: Iterable[uuid.UUID | None]) -> set[uuid.UUID]:
    wanted = list({i for i in ids if i is not None})
    if not wanted:
        return set()
    pk = table._meta.primary_key
    rows = await table.select(pk).where(pk.is_in(wanted)).run()
    return {uuid.UUID(str(r[pk._meta.name])) for r in rows}


def _row(r: dict[str, Any]) -> AggregateRow:
    data = r["data"]
    if isinstance(data, str):  # piccolo returns JSON columns as text on some engines
        import json

        data = json.loads(data)
    return AggregateRow(r["exercise"], r["error_key"], r["runs"], r["failures"], r["users"], data)


class PiccoloAnalyticsStore:
    """:class:`~actors.analytics_store.AnalyticsStore` on the piccolo tables (stateless: the bound engine holds it)."""

    def transaction(self) -> AbstractAsyncContextManager[object]:
        transaction: AbstractAsyncContextManager[object] = write_transaction(AnalyticsEvent._meta.db)
        return transaction

    async def known_runs(self, run_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """The runs among ``run_ids`` that already have an event (duplicates to skip)."""
        if not run_ids:
            return set()
        rows = await AnalyticsEvent.select(AnalyticsEvent.run).where(AnalyticsEvent.run.is_in(run_ids)).run()
        return {uuid.UUID(str(r["run"])) for r in rows if r["run"] is not None}

    async def existing_classes(self, class_ids: Iterable[uuid.UUID | None]) -> set[uuid.UUID]:
        return await _existing(Class, class_ids)

    async def students(self, class_id: uuid.UUID) -> dict[uuid.UUID, str]:
        rows = await (
            Enrollment.select(Enrollment.user, Enrollment.user.display_name, Enrollment.user.role)
            .where((Enrollment.klass == class_id) & (Enrollment.role == "student") & Enrollment.removed_at.is_null())
            .run()
        )
        return {uuid.UUID(str(r["user"])): str(r["user.display_name"]) for r in rows if r["user.role"] == "student"}

    async def insert_events(self, outcomes: list[Outcome]) -> None:
        """One ``analytics_events`` row per outcome, nulling references to rows that are gone."""
        if not outcomes:
            return
        runs = await _existing(Run, (o.run_id for o in outcomes))
        users = await _existing(User, (o.user_id for o in outcomes))
        classes = await _existing(Class, (o.class_id for o in outcomes))
        rooms = await _existing(Room, (o.room_id for o in outcomes))
        rows = [
            AnalyticsEvent(
                id=uuid.uuid4(),
                klass=o.class_id if o.class_id in classes else None,
                room=o.room_id if o.room_id in rooms else None,
                user=o.user_id if o.user_id in users else None,
                run=o.run_id if o.run_id in runs else None,
                exercise=o.exercise,
                kind="run",
                verdict=o.verdict,
                error_key=(o.error_key or "")[:300] or None,
                payload={
                    "run_id": str(o.run_id),
                    "passed": o.passed,
                    "error_type": o.error_type,
                    "error_message": (o.error_message or "")[:500],
                    "error_line": o.error_line,
                    "wall_ms": o.wall_ms,
                    "finished_at": o.finished_at.isoformat(),
                },
                created_at=o.finished_at,
            )
            for o in outcomes
        ]
        await AnalyticsEvent.insert(*rows).run()

    async def load_rows(self, class_id: uuid.UUID) -> StoredRows:
        """Every aggregate row of the class, keyed by (exercise, error_key), with its row id."""
        rows = await AnalyticsAggregate.select().where(AnalyticsAggregate.klass == class_id).run()
        found: StoredRows = {}
        for r in rows:
            row = _row(r)
            found[(row.exercise, row.error_key)] = (uuid.UUID(str(r["id"])), row)
        return found

    async def save_rows(
        self, class_id: uuid.UUID, rows: list[tuple[uuid.UUID | None, AggregateRow]]
    ) -> list[uuid.UUID]:
        """Update rows that have an id, insert the others; return the ids in order."""
        ids: list[uuid.UUID] = []
        now = datetime.now(UTC)
        for row_id, row in rows:
            if row_id is None:
                row_id = uuid.uuid4()
                await (
                    AnalyticsAggregate(
                        id=row_id,
                        klass=class_id,
                        exercise=row.exercise,
                        error_key=row.error_key,
                        runs=row.runs,
                        failures=row.failures,
                        users=row.users,
                        data=row.data,
                        updated_at=now,
                    )
                    .save()
                    .run()
                )
            else:
                await (
                    AnalyticsAggregate.update(
                        {
                            AnalyticsAggregate.runs: row.runs,
                            AnalyticsAggregate.failures: row.failures,
                            AnalyticsAggregate.users: row.users,
                            AnalyticsAggregate.data: row.data,
                            AnalyticsAggregate.updated_at: now,
                        }
                    )
                    .where(AnalyticsAggregate.id == row_id)
                    .run()
                )
            ids.append(row_id)
        return ids
