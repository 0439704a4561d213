"""The analytics actor: aggregates run outcomes per class and exercise, persists them, serves snapshots.

Contract:

- :meth:`Analytics.record_outcomes` takes a batch of outcome dicts (fields in :mod:`analytics.outcome`). The run
  pipeline calls it fire-and-forget, off the hot path; bad input never raises: it answers
  ``{"accepted": n, "duplicates": n, "rejected": [{"index": i, "reason": "..."}]}``. A run already recorded is a
  duplicate (batches may be resent). Events and the changed aggregate rows are written in one transaction
  before it returns; a database failure raises (the batch can be resent whole).
- :meth:`Analytics.snapshot` answers a class's dashboard dict (:meth:`analytics.ClassAggregate.snapshot`) with
  the students' names; an unknown class gives an empty snapshot.
- Only the class's students are counted (:meth:`~actors.analytics_store.AnalyticsStore.students`): an
  instructor's runs (a demo, trying the exercise) are recorded as events but never aggregated.

A class's aggregate loads from ``analytics_aggregates`` on first use, so a restarted actor continues where it
stopped; at most ``max_classes`` stay in memory (least recently used leave; they are all persisted). One lock
makes the actor the single writer of the aggregate rows even when Ray interleaves its async calls.

The events and rows live in the store the edge hands in (:class:`~actors.analytics_store.AnalyticsStore`). The Ray
face is :class:`AnalyticsActor` (one named actor per deployment, ``actors.options.ANALYTICS_ACTOR_NAME``; get it
with :func:`get_or_create`, which passes the actor the edge's store factory).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from actors.analytics_store import AnalyticsStore, AnalyticsStoreFactory
from analytics import ClassAggregate, Outcome, OutcomeError, StuckRule, parse_outcome
from analytics.aggregate import RowKey

log = logging.getLogger(__name__)

MAX_BATCH = 1000
MAX_CLASSES = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Analytics:
    """Plain class (no Ray); events and aggregate rows go to ``store``."""

    def __init__(
        self,
        store: AnalyticsStore,
        *,
        rule: StuckRule | None = None,
        max_classes: int = MAX_CLASSES,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.rule = rule or StuckRule()
        self.max_classes = max_classes
        self.clock = clock
        self.classes: OrderedDict[uuid.UUID, ClassAggregate] = OrderedDict()
        self.row_ids: dict[uuid.UUID, dict[RowKey, uuid.UUID]] = {}
        self.students: dict[uuid.UUID, dict[uuid.UUID, str]] = {}  # per class, refreshed on an unknown user
        self._lock = asyncio.Lock()

    async def _aggregate(self, class_id: uuid.UUID) -> ClassAggregate:
        found = self.classes.get(class_id)
        if found is None:
            stored = await self.store.load_rows(class_id)
            found = ClassAggregate.from_rows(str(class_id), [row for _, row in stored.values()])
            self.classes[class_id] = found
            self.row_ids[class_id] = {key: row_id for key, (row_id, _) in stored.items()}
            while len(self.classes) > self.max_classes:
                gone, _ = self.classes.popitem(last=False)
                self.row_ids.pop(gone, None)
        self.classes.move_to_end(class_id)
        return found

    async def record_outcomes(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        """Record a batch of run outcomes (see the module docstring for the answer's shape)."""
        rejected: list[dict[str, Any]] = []
        if not isinstance(batch, list):
            return {"accepted": 0, "duplicates": 0, "rejected": [{"index": None, "reason": "expected a list"}]}
        if len(batch) > MAX_BATCH:
            rejected = [{"index": i, "reason": f"batch larger than {MAX_BATCH}"} for i in range(MAX_BATCH, len(batch))]
            batch = batch[:MAX_BATCH]
        parsed: dict[uuid.UUID, Outcome] = {}
        for index, item in enumerate(batch):
            try:
                outcome = parse_outcome(item)
            except OutcomeError as exc:
                rejected.append({"index": index, "reason": str(exc)})
                continue
            parsed.setdefault(outcome.run_id, outcome)  # the same run twice in one batch counts once
        async with self._lock:
            known = await self.store.known_runs(list(parsed))
            fresh = sorted((o for o in parsed.values() if o.run_id not in known), key=lambda o: o.finished_at)
            try:
                # One transaction: a batch is recorded whole or not at all, so a resent batch is never half-counted
                # (and SQLite commits once instead of once per row).
                async with self.store.transaction():
                    await self.store.insert_events(fresh)
                    await self._aggregate_all(fresh)
            except BaseException:
                # The database rolled back: forget what memory applied, the next use reloads the stored rows.
                for class_id in {o.class_id for o in fresh}:
                    if class_id is not None:
                        self.classes.pop(class_id, None)
                        self.row_ids.pop(class_id, None)
                raise
        if rejected:
            log.warning("analytics: rejected %d outcome(s), first: %s", len(rejected), rejected[0]["reason"])
        return {"accepted": len(fresh), "duplicates": len(batch) - len(rejected) - len(fresh), "rejected": rejected}

    async def _aggregate_all(self, outcomes: list[Outcome]) -> None:
        classes = await self.store.existing_classes(o.class_id for o in outcomes)
        touched: dict[uuid.UUID, set[RowKey]] = {}
        for outcome in outcomes:
            if outcome.class_id is None or outcome.class_id not in classes:
                continue  # a run outside any (existing) class has an event but no class aggregate
            if not await self._is_student(outcome.class_id, outcome.user_id):
                continue  # an instructor's (or a removed student's) run: an event, never a student's figure
            aggregate = await self._aggregate(outcome.class_id)
            touched.setdefault(outcome.class_id, set()).update(aggregate.apply(outcome))
        for class_id, keys in touched.items():
            aggregate = await self._aggregate(class_id)
            ids = self.row_ids.setdefault(class_id, {})
            ordered = sorted(keys, key=lambda k: (k[0] or "", k[1] or ""))
            saved = await self.store.save_rows(class_id, [(ids.get(k), aggregate.row(k)) for k in ordered])
            ids.update(zip(ordered, saved, strict=True))

    async def _is_student(self, class_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        known = self.students.get(class_id)
        if known is None or user_id not in known:
            known = self.students[class_id] = await self.store.students(class_id)  # a student who just joined
            while len(self.students) > self.max_classes:
                self.students.pop(next(iter(self.students)))
        return user_id in known

    async def snapshot(self, class_id: str) -> dict[str, Any]:
        """The class's dashboard snapshot (empty for a class without outcomes)."""
        try:
            cid = uuid.UUID(str(class_id))
        except ValueError:
            return ClassAggregate(str(class_id)).snapshot(self.clock(), self.rule)
        async with self._lock:
            aggregate = await self._aggregate(cid)
            names = self.students[cid] = await self.store.students(cid)
            return aggregate.snapshot(self.clock(), self.rule, {str(k): v for k, v in names.items()})


class AnalyticsActor(Analytics):
    """:class:`Analytics` in a Ray worker process, with the store that ``stores`` opens there."""

    def __init__(self, stores: AnalyticsStoreFactory) -> None:
        # No store yet: it opens on the first call, which waits for it (see _start) before any use.
        super().__init__(cast(AnalyticsStore, None))
        self.stores = stores
        self._starting = asyncio.Lock()
        self._started = False

    async def _aggregate(self, class_id: uuid.UUID) -> ClassAggregate:
        await self._start()
        return await super()._aggregate(class_id)

    async def record_outcomes(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        await self._start()
        return await super().record_outcomes(batch)

    async def _start(self) -> None:
        # Ray runs __init__ outside the actor's event loop, so the store (its pool) opens on the first call.
        # Concurrent first calls wait for that one open; a failed open is tried again by the next call.
        if self._started:
            return
        async with self._starting:
            if not self._started:
                self.store = await self.stores.open_analytics_store()
                self._started = True

    async def ready(self) -> int:
        import os

        await self._start()
        return os.getpid()


def get_or_create(stores: AnalyticsStoreFactory, namespace: str | None = None) -> Any:
    """The deployment's analytics actor handle, created on first use with ``stores`` (blocking: a GCS round trip).

    Fire-and-forget use: ``handle.record_outcomes.remote(batch)`` and drop the ref.
    """
    from actors.options import ANALYTICS_ACTOR_NAME, remote

    options: dict[str, Any] = {"name": ANALYTICS_ACTOR_NAME, "get_if_exists": True}
    if namespace:
        options["namespace"] = namespace
    return remote("analytics").options(**options).remote(stores)
