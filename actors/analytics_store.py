"""What the analytics actor needs from persistence: the :class:`AnalyticsStore` contract and its factory.

Raw events (one per run) and per-class aggregate rows. The database-backed implementation belongs to the edge
(``classroom.stores``), which hands it in when it creates the actor; nothing here imports the edge.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from analytics import AggregateRow, Outcome
from analytics.aggregate import RowKey

# A class's aggregate rows keyed by (exercise, error_key), each with the id of its stored row.
StoredRows = dict[RowKey, tuple[uuid.UUID, AggregateRow]]


class AnalyticsStore(Protocol):
    """Events and aggregate rows. Methods may raise whatever the storage raises; the actor lets it through."""

    def transaction(self) -> AbstractAsyncContextManager[object]:
        """A transaction for ``async with``: the writes inside it are stored whole, or not at all on an error."""
        ...

    async def known_runs(self, run_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """The runs among ``run_ids`` that already have an event (duplicates to skip)."""
        ...

    async def existing_classes(self, class_ids: Iterable[uuid.UUID | None]) -> set[uuid.UUID]:
        """The classes among ``class_ids`` that exist (outcomes may arrive after a class was deleted)."""
        ...

    async def students(self, class_id: uuid.UUID) -> dict[uuid.UUID, str]:
        """The class's students now (id -> display name): enrolled as students, not removed, and students by
        account. Instructors and admins are never among them, so analytics never counts them."""
        ...

    async def insert_events(self, outcomes: list[Outcome]) -> None:
        """One event per outcome; references to rows that no longer exist are stored as null, never an error."""
        ...

    async def load_rows(self, class_id: uuid.UUID) -> StoredRows:
        """Every aggregate row of the class (none for an unknown class)."""
        ...

    async def save_rows(
        self, class_id: uuid.UUID, rows: list[tuple[uuid.UUID | None, AggregateRow]]
    ) -> list[uuid.UUID]:
        """Update the rows that have an id, insert the others; return the ids in order."""
        ...


class AnalyticsStoreFactory(Protocol):
    """How the actor in its own process gets its store: the edge passes one as the actor's constructor argument.

    It must be picklable (it crosses into the Ray worker, again on every restart), and small: a URL, not a
    connection. :meth:`open_analytics_store` is awaited once per actor process, on the actor's event loop, before
    its first use of the store.
    """

    async def open_analytics_store(self) -> AnalyticsStore: ...
