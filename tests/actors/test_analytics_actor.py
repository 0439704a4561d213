"""The analytics actor as a plain class on its piccolo store (SQLite and PostgreSQL): events, dedupe, persistence."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from piccolo.engine.base import Engine
from session_helpers import World, make_run, make_world

from actors.analytics_actor import Analytics
from classroom.stores import PiccoloAnalyticsStore
from classroom.tables import AnalyticsAggregate, AnalyticsEvent

pytestmark = pytest.mark.anyio
T0 = datetime.now(UTC) - timedelta(minutes=5)


async def outcome(world: World, user: str, minute: int, name: str | None = None, **extra: Any) -> dict[str, Any]:
    failed = name is not None
    return {
        "run_id": await make_run(user, world.class_id),
        "user_id": user,
        "class_id": world.class_id,
        "room_id": world.pair_room,
        "exercise": "sum-list",
        "verdict": "runtime_error" if failed else "ok",
        "error_type": "NameError" if failed else None,
        "error_message": f"name '{name}' is not defined" if failed else None,
        "error_line": 2 if failed else None,
        "wall_ms": 30,
        "finished_at": (T0 + timedelta(minutes=minute)).isoformat(),
        **extra,
    }


@pytest.fixture
async def world(database: Engine[Any]) -> World:
    return await make_world()


async def test_record_persist_reload_and_dedupe(world: World) -> None:
    s0, s1 = world.students
    batch = [await outcome(world, s0, 0, "x"), await outcome(world, s1, 1, "y"), await outcome(world, s0, 2)]
    answer = await Analytics(PiccoloAnalyticsStore()).record_outcomes(batch)
    assert answer == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert await AnalyticsEvent.count().run() == 3
    # A resent batch (the pipeline retried) changes nothing.
    assert (await Analytics(PiccoloAnalyticsStore()).record_outcomes(batch))["duplicates"] == 3
    assert await AnalyticsEvent.count().run() == 3
    # A new instance (a restarted actor) reloads the aggregates and keeps counting on the same rows.
    restarted = Analytics(PiccoloAnalyticsStore())
    snap = await restarted.snapshot(world.class_id)
    ex = snap["exercises"][0]
    assert (ex["runs"], ex["failures"], ex["solved"], ex["students"]) == (3, 2, 1, 2)
    assert ex["top_errors"][0]["count"] == 2 and ex["top_errors"][0]["students"] == 2
    await restarted.record_outcomes([await outcome(world, s1, 3, "z")])
    rows = await AnalyticsAggregate.select().run()
    assert len(rows) == 2  # one exercise row, one error-cluster row: updated in place, never duplicated
    assert {r["error_key"]: r["runs"] for r in rows} == {None: 4, "NameError: name <name> is not defined @ 2": 3}


async def test_bad_items_are_rejected_not_fatal(world: World) -> None:
    good = await outcome(world, world.students[0], 0)
    batch = [{"verdict": "ok"}, good, {**good, "verdict": "??"}]
    answer = await Analytics(PiccoloAnalyticsStore()).record_outcomes(batch)
    assert answer["accepted"] == 1
    assert [r["index"] for r in answer["rejected"]] == [0, 2]
    assert "run_id" in answer["rejected"][0]["reason"]


async def test_outcomes_of_missing_rows_and_no_class(world: World) -> None:
    ghost = {
        **(await outcome(world, world.students[0], 0, "x")),
        "run_id": str(uuid.uuid4()),
        "room_id": str(uuid.uuid4()),
        "class_id": str(uuid.uuid4()),
    }
    classless = await outcome(world, world.students[0], 1, class_id=None)
    answer = await Analytics(PiccoloAnalyticsStore()).record_outcomes([ghost, classless])
    assert answer["accepted"] == 2
    assert await AnalyticsEvent.count().run() == 2
    assert await AnalyticsAggregate.count().run() == 0  # neither has an existing class to aggregate under
    snap = await Analytics(PiccoloAnalyticsStore()).snapshot(world.class_id)
    assert snap["exercises"] == [] and snap["totals"]["runs"] == 0


async def test_snapshot_of_unknown_or_malformed_class_is_empty(world: World) -> None:
    assert (await Analytics(PiccoloAnalyticsStore()).snapshot(str(uuid.uuid4())))["exercises"] == []
    assert (await Analytics(PiccoloAnalyticsStore()).snapshot("nope"))["exercises"] == []


async def test_memory_is_bounded_by_max_classes(world: World) -> None:
    other = await make_world(1)
    analytics = Analytics(PiccoloAnalyticsStore(), max_classes=1)
    await analytics.record_outcomes([await outcome(world, world.students[0], 0, "x")])
    await analytics.record_outcomes([await outcome(other, other.students[0], 0, "x")])
    assert list(analytics.classes) == [uuid.UUID(other.class_id)]
    assert (await analytics.snapshot(world.class_id))["totals"]["runs"] == 1  # reloaded from the database


async def test_a_failed_batch_is_recorded_whole_when_resent(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    store = PiccoloAnalyticsStore()
    analytics = Analytics(store)
    await analytics.record_outcomes([await outcome(world, world.students[0], 0, "x")])
    batch = [await outcome(world, world.students[1], 1, "y"), await outcome(world, world.students[1], 2)]
    real_save = store.save_rows

    async def broken(*args: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(store, "save_rows", broken)
    with pytest.raises(RuntimeError):
        await analytics.record_outcomes(batch)
    assert await AnalyticsEvent.count().run() == 1  # the failed batch's events rolled back with its aggregates
    monkeypatch.setattr(store, "save_rows", real_save)
    assert (await analytics.record_outcomes(batch))["accepted"] == 2
    snap = await analytics.snapshot(world.class_id)
    assert snap["totals"] == {"runs": 3, "failures": 2, "students": 2}
    assert (await Analytics(PiccoloAnalyticsStore()).snapshot(world.class_id))["totals"] == snap["totals"]
