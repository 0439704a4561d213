"""The database document store (classroom.rooms.store) on SQLite and PostgreSQL, and the manager's persistence
on it: batched log, snapshots, load, idle unload, flush on close, rebuilding a past state."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from collab_harness import create_room, eventually
from piccolo.engine.base import Engine
from pycrdt import Doc, Map, Text

from classroom.rooms.store import REPLAY_OVERLAP, PiccoloDocumentStore
from classroom.tables import DocumentSnapshot, DocumentUpdate
from collab import Limits, RoomManager
from collab.files import LAYOUT_UPDATE

pytestmark = pytest.mark.anyio


def _updates(count: int) -> tuple[Doc[Any], list[bytes]]:
    doc: Doc[Any] = Doc()
    doc.apply_update(LAYOUT_UPDATE)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    text = doc.get("files", type=Map)["main.py"]
    for i in range(count):
        text.insert(len(str(text)), str(i % 10))
    doc.unobserve(sub)
    return doc, updates


def _now() -> datetime:
    return datetime.now(UTC)


async def test_append_load_history(database: Engine[Any]) -> None:
    store = PiccoloDocumentStore(database)
    room = await create_room()
    assert (await store.load(room)).updates == []
    _doc, updates = _updates(5)
    assert await store.append(room, [(u, _now()) for u in updates[:2]]) == 2
    assert await store.append(room, [(u, _now()) for u in updates[2:]]) == 5
    loaded = await store.load(room)
    assert loaded.snapshot is None and loaded.last_seq == 5 and loaded.updates == updates
    assert [e.seq for e in await store.history(room, after_seq=3)] == [4, 5]
    assert all(e.at.tzinfo is not None for e in await store.history(room))


async def test_compaction_loads_from_the_snapshot_and_keeps_the_log(database: Engine[Any]) -> None:
    store = PiccoloDocumentStore(database)
    room = await create_room()
    doc, updates = _updates(REPLAY_OVERLAP + 20)
    seq = await store.append(room, [(u, _now()) for u in updates])
    await store.compact(room, doc.get_update(), doc.get_state(), seq - 5)
    await store.compact(room, doc.get_update(), doc.get_state(), seq)
    loaded = await store.load(room)
    assert loaded.snapshot is not None and loaded.last_seq == seq
    assert len(loaded.updates) == REPLAY_OVERLAP  # only the overlap window is re-applied
    assert await DocumentSnapshot.count().where(DocumentSnapshot.room == room) == 1
    assert await DocumentUpdate.count() == len(updates)  # history kept
    restored: Doc[Any] = Doc()
    restored.apply_update(loaded.snapshot)
    assert str(restored.get("files", type=Map)["main.py"]) == str(doc.get("files", type=Map)["main.py"])


async def test_concurrent_appends_get_distinct_ordered_seqs(database: Engine[Any]) -> None:
    store = PiccoloDocumentStore(database)
    room = await create_room()
    _, updates = _updates(20)
    await asyncio.gather(*(store.append(room, [(u, _now())]) for u in updates))
    seqs = [e.seq for e in await store.history(room)]
    assert seqs == list(range(1, 21))


async def test_two_stores_on_one_database_interleave_seqs_and_read_back_what_was_appended(
    database: Engine[Any],
) -> None:
    # Two replicas on one database (on SQLite each store appends through a connection of its own): every append
    # gets the next seqs, and piccolo reads back exactly the bytes and times that were appended.
    first, second = PiccoloDocumentStore(database), PiccoloDocumentStore(database)
    room = await create_room()
    _, updates = _updates(40)
    at = [_now() - timedelta(seconds=40 - i) for i in range(40)]
    await asyncio.gather(
        *(
            (first if i % 2 else second).append(room, [(updates[i], at[i]), (updates[i + 1], at[i + 1])])
            for i in range(0, 40, 2)
        )
    )
    history = await first.history(room)
    assert [e.seq for e in history] == list(range(1, 41))
    pairs = sorted((e.at, e.data) for e in history)
    assert pairs == sorted(zip(at, updates, strict=True))
    first.close()
    second.close()


async def test_append_many_writes_several_rooms_at_once(database: Engine[Any]) -> None:
    store = PiccoloDocumentStore(database)
    one, two = await create_room("one"), await create_room("two")
    _, updates = _updates(6)
    await store.append(one, [(updates[0], _now())])
    seqs = await store.append_many({one: [(u, _now()) for u in updates[1:3]], two: [(u, _now()) for u in updates[3:]]})
    assert seqs == {one: 3, two: 3}
    assert [e.data for e in await store.history(one)] == updates[:3]
    assert [e.data for e in await store.history(two)] == updates[3:]


async def test_a_backlog_larger_than_one_statement_is_logged(database: Engine[Any]) -> None:
    store = PiccoloDocumentStore(database)
    room = await create_room()
    _, updates = _updates(2500)  # more rows than one INSERT carries
    assert await store.append(room, [(u, _now()) for u in updates]) == 2500
    assert (await store.load(room)).updates == updates


FAST = Limits(flush_interval_seconds=0.05, idle_unload_seconds=0.3, compact_every=50)


async def test_updates_reach_the_log_while_the_room_is_loaded_and_survive_unload(sqlite_database: Engine[Any]) -> None:
    """The periodic flush logs updates of a live room (no unload, no close needed); compaction follows; an idle room
    unloads and comes back whole. Events are awaited with generous deadlines: how fast is load/'s business."""
    store = PiccoloDocumentStore(sqlite_database)
    room = await create_room()
    never_idle = Limits(flush_interval_seconds=0.05, idle_unload_seconds=3600, compact_every=50)
    async with RoomManager(store, limits=never_idle) as manager:
        await manager.set_files(room, {"main.py": "print('hi')\n"})

        async def logged() -> int:
            return len(await store.history(room))

        await eventually(logged, within=30)
        assert await logged() == 1 and manager.rooms == 1  # logged while the room stayed loaded
        for i in range(120):
            await manager.set_files(room, {"main.py": f"print({i})\n"})

        async def compacted() -> int:
            return int(await DocumentSnapshot.count())

        await eventually(compacted, within=30)  # compacted after compact_every updates
        assert manager.rooms == 1
    async with RoomManager(store, limits=FAST) as manager:
        assert await manager.files(room) == {"main.py": "print(119)\n"}
        await eventually(lambda: manager.rooms == 0, within=30)  # idle room flushed and unloaded
        assert await manager.files(room) == {"main.py": "print(119)\n"}  # reloaded from snapshot + log


async def test_closing_the_manager_flushes_everything(sqlite_database: Engine[Any]) -> None:
    store = PiccoloDocumentStore(sqlite_database)
    rooms = [await create_room(f"r{i}") for i in range(3)]
    async with RoomManager(store, limits=Limits(flush_interval_seconds=0.2)) as manager:
        for room in rooms:
            await manager.set_files(room, {"main.py": room, "extra.py": "x = 1\n"})
    async with RoomManager(store) as again:
        for room in rooms:
            assert await again.files(room) == {"main.py": room, "extra.py": "x = 1\n"}


async def test_rebuild_at_a_past_state_vector_or_time(sqlite_database: Engine[Any]) -> None:
    store = PiccoloDocumentStore(sqlite_database)
    room = await create_room()
    async with RoomManager(store, limits=FAST) as manager:
        await manager.set_files(room, {"main.py": "v1\n"})
        at_v1 = await manager.state_vector(room)
        await manager.flush()
        moment = datetime.now(UTC)
        await asyncio.sleep(0.01)
        await manager.set_files(room, {"main.py": "v2\n", "b.py": "b"})
        assert await manager.rebuild(room, state_vector=at_v1) == {"main.py": "v1\n"}
        assert await manager.rebuild(room, at=moment) == {"main.py": "v1\n"}
        assert await manager.rebuild(room, at=moment - timedelta(days=1)) == {"main.py": ""}
        assert await manager.rebuild(room) == {"main.py": "v2\n", "b.py": "b"}


async def test_subscribers_see_every_change(sqlite_database: Engine[Any]) -> None:
    store = PiccoloDocumentStore(sqlite_database)
    room = await create_room()
    seen: list[bytes] = []
    async with RoomManager(store) as manager:
        unsubscribe = await manager.subscribe(room, seen.append)
        await manager.set_files(room, {"main.py": "a"})
        await manager.edit(room, lambda doc: doc.get("files", type=Map).__setitem__("new.py", Text("n")))
        assert len(seen) == 2
        mirror: Doc[Any] = Doc()
        for update in seen:
            mirror.apply_update(update)
        mirror.apply_update(LAYOUT_UPDATE)
        assert {k: str(v) for k, v in mirror.get("files", type=Map).items()} == {"main.py": "a", "new.py": "n"}
        unsubscribe()
        await manager.set_files(room, {"main.py": "b"})
        assert len(seen) == 2
