"""The schema on both engines: migrations apply, relations hold, cascades and uniqueness behave the same."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from piccolo.engine.base import Engine

from classroom import db
from classroom.tables import (
    Class,
    DocumentSnapshot,
    DocumentUpdate,
    Enrollment,
    Room,
    RoomMember,
    Run,
    User,
)

pytestmark = pytest.mark.anyio


def now() -> datetime:
    return datetime.now(UTC)


async def make_class() -> tuple[User, Class, Room]:
    teacher = User(id=uuid.uuid4(), display_name="Ada", role="instructor", username=f"ada{uuid.uuid4().hex[:6]}",
                   created_at=now())
    await teacher.save().run()
    klass = Class(id=uuid.uuid4(), name="Python 1", owner=teacher.id, join_code=uuid.uuid4().hex[:8],
                  created_at=now())
    await klass.save().run()
    room = Room(id=uuid.uuid4(), klass=klass.id, name="demo", kind="demo", created_by=teacher.id, created_at=now())
    await room.save().run()
    return teacher, klass, room


async def test_migrations_are_idempotent(database: Engine[Any]) -> None:
    assert await db.migrate(database) == []


async def test_class_room_membership_and_runs_round_trip(database: Engine[Any]) -> None:
    _, klass, room = await make_class()
    student = User(id=uuid.uuid4(), display_name="Grace", created_at=now())
    await student.save().run()
    await Enrollment(id=uuid.uuid4(), klass=klass.id, user=student.id, created_at=now()).save().run()
    await RoomMember(id=uuid.uuid4(), room=room.id, user=student.id, role="viewer", created_at=now()).save().run()
    run = Run(id=uuid.uuid4(), user=student.id, klass=klass.id, room=room.id, files={"main.py": "print(1)"},
              state_vector=b"\x01\x02", created_at=now())
    await run.save().run()

    members = await RoomMember.select(RoomMember.user.display_name, RoomMember.role).where(
        RoomMember.room == room.id).run()
    assert members == [{"user.display_name": "Grace", "role": "viewer"}]
    stored = await Run.objects().get(Run.id == run.id).run()
    assert stored is not None
    assert stored.files == {"main.py": "print(1)"} or stored.files == '{"main.py": "print(1)"}'
    assert bytes(stored.state_vector) == b"\x01\x02" and stored.status == "queued"


async def test_join_codes_and_usernames_are_unique(database: Engine[Any]) -> None:
    teacher, klass, _ = await make_class()
    clash = Class(id=uuid.uuid4(), name="other", owner=teacher.id, join_code=klass.join_code, created_at=now())
    with pytest.raises(Exception, match=r"(?i)unique"):
        await clash.save().run()
    twin = User(id=uuid.uuid4(), display_name="x", username=teacher.username, created_at=now())
    with pytest.raises(Exception, match=r"(?i)unique"):
        await twin.save().run()


async def test_document_log_is_ordered_and_cascades_with_its_room(database: Engine[Any]) -> None:
    _, _, room = await make_class()
    for seq in (2, 1, 3):
        await DocumentUpdate(id=uuid.uuid4(), room=room.id, seq=seq, data=bytes([seq]) * 3,
                             created_at=now()).save().run()
    await DocumentSnapshot(id=uuid.uuid4(), room=room.id, upto_seq=2, state=b"s", state_vector=b"v",
                           created_at=now()).save().run()
    rows = await DocumentUpdate.select(DocumentUpdate.seq, DocumentUpdate.data).where(
        DocumentUpdate.room == room.id).order_by(DocumentUpdate.seq).run()
    assert [r["seq"] for r in rows] == [1, 2, 3] and bytes(rows[2]["data"]) == b"\x03\x03\x03"
    await Room.delete().where(Room.id == room.id).run()
    # piccolo turns SQLite's foreign keys on for every connection, so both engines cascade.
    assert await DocumentUpdate.count().where(DocumentUpdate.room == room.id).run() == 0
    assert await DocumentSnapshot.count().where(DocumentSnapshot.room == room.id).run() == 0


async def test_finished_result_is_written_once(database: Engine[Any]) -> None:
    teacher, klass, _ = await make_class()
    run = Run(id=uuid.uuid4(), user=teacher.id, klass=klass.id, created_at=now())
    await run.save().run()
    first = await Run.update({Run.status: "finished", Run.verdict: "ok"}).where(
        (Run.id == run.id) & (Run.status != "finished")).returning(Run.id).run()
    second = await Run.update({Run.status: "finished", Run.verdict: "time_limit"}).where(
        (Run.id == run.id) & (Run.status != "finished")).returning(Run.id).run()
    assert len(first) == 1 and second == []
    assert (await Run.select(Run.verdict).where(Run.id == run.id).first().run()) == {"verdict": "ok"}
