"""The session shard as a plain class on its piccolo store (SQLite and PostgreSQL): state, reload, eviction, errors."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from piccolo.engine.base import Engine
from session_helpers import World, enroll, make_room, make_user, make_world

from actors.session import SessionShard, shard_of
from actors.session_state import SessionConflict, SessionInvalid, SessionNotFound
from actors.session_store import FOLLOW_ACTION
from classroom.stores import PiccoloSessionStore
from classroom.tables import AuditLog, HelpRequest, Room

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world(database: Engine[Any]) -> World:
    return await make_world()


async def test_view_loads_roster_rooms_and_empty_queue(world: World) -> None:
    view = await SessionShard(PiccoloSessionStore()).view(world.class_id)
    roles = {m["user_id"]: m["role"] for m in view["roster"]}
    assert roles == {world.owner: "instructor", world.students[0]: "student", world.students[1]: "student"}
    assert view["roster"][0]["user_id"] == world.owner  # instructors first
    modes = {r["id"]: r["mode"] for r in view["rooms"]}
    assert modes == {world.pair_room: "pair", world.demo_room: "demo"}
    pair = next(r for r in view["rooms"] if r["id"] == world.pair_room)
    assert set(pair["members"]) == set(world.students)
    assert view["hands"] == [] and view["followed_room"] is None


async def test_hand_queue_is_ordered_persisted_and_reloaded(world: World) -> None:
    shard = SessionShard(PiccoloSessionStore())
    s0, s1 = world.students
    first = await shard.raise_hand(world.class_id, s0, world.pair_room, "  stuck on loops  ")
    assert first["created"] and first["hand"]["note"] == "stuck on loops"
    again = await shard.raise_hand(world.class_id, s0, None, "")
    assert not again["created"] and again["hand"]["id"] == first["hand"]["id"]
    await shard.raise_hand(world.class_id, s1, None, "")
    # A new shard (a restarted actor) sees the same queue, in the same order.
    reloaded = await SessionShard(PiccoloSessionStore()).view(world.class_id)
    assert [h["user_id"] for h in reloaded["hands"]] == [s0, s1]
    resolved = await shard.resolve_hand(world.class_id, first["hand"]["id"], world.owner)
    assert resolved["resolved_by"] == world.owner
    with pytest.raises(SessionConflict):
        await shard.resolve_hand(world.class_id, first["hand"]["id"], world.owner)
    lowered = await shard.lower_hand(world.class_id, s1)
    assert lowered["resolved_by"] == s1
    with pytest.raises(SessionNotFound):
        await shard.lower_hand(world.class_id, s1)
    assert await HelpRequest.count().where(HelpRequest.resolved_at.is_null()).run() == 0


async def test_hand_errors(world: World) -> None:
    shard = SessionShard(PiccoloSessionStore())
    with pytest.raises(SessionNotFound):
        await shard.raise_hand(world.class_id, world.outsider, None, "")
    with pytest.raises(SessionInvalid):
        await shard.raise_hand(world.class_id, world.students[0], None, "x" * 501)
    other = await make_world(1)
    with pytest.raises(SessionNotFound):  # a room of another class
        await shard.raise_hand(world.class_id, world.students[0], other.demo_room, "")
    with pytest.raises(SessionNotFound):
        await shard.resolve_hand(world.class_id, str(uuid.uuid4()), world.owner)
    with pytest.raises(SessionNotFound):
        await shard.view(str(uuid.uuid4()))
    with pytest.raises(SessionNotFound):
        await shard.view("not-a-uuid")


async def test_new_student_and_new_room_are_seen_without_waiting(world: World) -> None:
    shard = SessionShard(PiccoloSessionStore())
    await shard.view(world.class_id)
    late = await make_user("Late")
    await enroll(world.class_id, late)
    room = await make_room(world.class_id, world.owner, "Late room", "pair", (late,))
    hand = await shard.raise_hand(world.class_id, late, room, "")
    assert hand["created"]


async def test_modes_and_follow_me(world: World) -> None:
    shard = SessionShard(PiccoloSessionStore())
    with pytest.raises(SessionConflict):  # only a demo room can be followed
        await shard.set_follow(world.class_id, world.pair_room, world.owner)
    view = await shard.set_follow(world.class_id, world.demo_room, world.owner)
    assert view["followed_room"] == world.demo_room and view["followed_by"] == world.owner
    reloaded = await SessionShard(PiccoloSessionStore()).view(world.class_id)  # follow-me is read back from audit
    assert reloaded["followed_room"] == world.demo_room
    room = await shard.set_mode(world.class_id, world.pair_room, "demo", world.owner)
    assert room["mode"] == "demo"
    assert (await Room.select(Room.kind).where(Room.id == uuid.UUID(world.pair_room)).first().run())["kind"] == "demo"
    # Leaving demo mode stops follow-me on that room, durably.
    version = (await shard.view(world.class_id))["version"]
    await shard.set_mode(world.class_id, world.demo_room, "pair", world.owner)
    after = await shard.view(world.class_id)
    assert after["followed_room"] is None and after["version"] > version
    assert (await SessionShard(PiccoloSessionStore()).view(world.class_id))["followed_room"] is None
    with pytest.raises(SessionInvalid):
        await shard.set_mode(world.class_id, world.pair_room, "broadcast", world.owner)
    other = await make_world(1)
    with pytest.raises(SessionNotFound):
        await shard.set_mode(world.class_id, other.pair_room, "demo", world.owner)
    assert await AuditLog.count().where(AuditLog.action == "session.mode").run() == 2


async def test_concurrent_raises_make_one_hand(world: World) -> None:
    shard = SessionShard(PiccoloSessionStore())
    results = await asyncio.gather(*(shard.raise_hand(world.class_id, world.students[0], None, "") for _ in range(5)))
    assert sum(r["created"] for r in results) == 1
    assert await HelpRequest.count().run() == 1


async def test_idle_sessions_are_unloaded(world: World) -> None:
    clock = Clock()
    shard = SessionShard(PiccoloSessionStore(), idle_seconds=60, clock=clock)
    await shard.view(world.class_id)
    assert not shard.idle()
    clock.now += 30
    assert shard.reap() == []
    clock.now += 31
    assert shard.reap() == [world.class_id]
    assert shard.idle()


async def test_follow_is_read_from_the_latest_audit_row(world: World) -> None:
    store = PiccoloSessionStore()
    await store.audit(world.class_id, world.owner, FOLLOW_ACTION, world.demo_room)
    follow = await store.last_follow(world.class_id)
    assert follow is not None and follow.room_id == world.demo_room


def test_shard_of_is_stable_and_spread() -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(400)]
    assert shard_of(ids[0]) == shard_of(ids[0])
    counts = [sum(1 for i in ids if shard_of(i) == s) for s in range(4)]
    assert min(counts) > 60


async def test_roster_changes_move_the_version_and_removed_students_leave_the_queue(world: World) -> None:
    from datetime import UTC, datetime

    from classroom.tables import Enrollment

    clock = Clock()
    shard = SessionShard(PiccoloSessionStore(), clock=clock)
    await shard.raise_hand(world.class_id, world.students[1], None, "")
    first = await shard.view(world.class_id)
    await (
        Enrollment.update({Enrollment.removed_at: datetime.now(UTC)})
        .where(Enrollment.user == uuid.UUID(world.students[1]))
        .run()
    )
    assert (await shard.view(world.class_id))["version"] == first["version"]  # cached until the refresh period
    clock.now += 10
    after = await shard.view(world.class_id)
    assert after["version"] > first["version"]
    assert after["hands"] == [] and world.students[1] not in {m["user_id"] for m in after["roster"]}


async def test_invoke_returns_the_class_events_of_each_change_and_none_of_a_no_op(world: World) -> None:
    shard = SessionShard(PiccoloSessionStore())
    s0, _ = world.students
    raised = await shard.invoke(world.class_id, "raise_hand", s0, world.pair_room, "help", "main.py", 4)
    assert raised["result"]["created"]
    [event] = raised["events"]
    assert event["type"] == "hand" and event["hand"]["line"] == 4 and event["hand"]["file"] == "main.py"
    assert (await shard.invoke(world.class_id, "raise_hand", s0, None, ""))["events"] == []  # already up
    followed = await shard.invoke(world.class_id, "set_follow", world.demo_room, world.owner)
    assert followed["events"] == [{"type": "follow", "room_id": world.demo_room, "by": world.owner}]
    # Switching the followed room away from demo also ends follow-me: two events, follow first.
    switched = await shard.invoke(world.class_id, "set_mode", world.demo_room, "pair", world.owner)
    assert [e["type"] for e in switched["events"]] == ["follow", "room"]
    assert switched["events"][0]["room_id"] is None and switched["events"][1]["room"]["mode"] == "pair"
    assert (await shard.invoke(world.class_id, "view"))["events"] == []
    with pytest.raises(SessionInvalid):
        await shard.invoke(world.class_id, "reap")  # only the public operations
    with pytest.raises(SessionInvalid):
        await shard.raise_hand(world.class_id, s0, None, "", "main.py", 0)
