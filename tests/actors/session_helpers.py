"""Rows for control-plane and analytics tests: a class with an owner, students, rooms and runs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from classroom.tables import Class, Enrollment, Room, RoomMember, Run, User


def now() -> datetime:
    return datetime.now(UTC)


async def make_user(name: str, role: str = "student") -> str:
    user = User(id=uuid.uuid4(), display_name=name, role=role, created_at=now())
    await user.save().run()
    return str(user.id)


async def enroll(class_id: str, user_id: str, role: str = "student") -> None:
    await (
        Enrollment(id=uuid.uuid4(), klass=uuid.UUID(class_id), user=uuid.UUID(user_id), role=role, created_at=now())
        .save()
        .run()
    )


async def make_room(class_id: str, creator: str, name: str, kind: str = "pair", members: tuple[str, ...] = ()) -> str:
    room = Room(
        id=uuid.uuid4(),
        klass=uuid.UUID(class_id),
        name=name,
        kind=kind,
        created_by=uuid.UUID(creator),
        created_at=now(),
    )
    await room.save().run()
    for member in members:
        await (
            RoomMember(id=uuid.uuid4(), room=room.id, user=uuid.UUID(member), role="writer", created_at=now())
            .save()
            .run()
        )
    return str(room.id)


async def make_run(user_id: str, class_id: str | None) -> str:
    run = Run(
        id=uuid.uuid4(),
        user=uuid.UUID(user_id),
        klass=None if class_id is None else uuid.UUID(class_id),
        status="finished",
        created_at=now(),
    )
    await run.save().run()
    return str(run.id)


@dataclass
class World:
    class_id: str
    owner: str
    students: list[str]
    pair_room: str
    demo_room: str
    outsider: str
    rooms: dict[str, str] = field(default_factory=dict)


async def make_world(students: int = 2) -> World:
    """A class owned by an instructor, ``students`` enrolled students, a pair room of the first two (or one),
    a demo room, and a user who belongs to no class."""
    owner = await make_user("Ada Instructor", "instructor")
    klass = Class(
        id=uuid.uuid4(), name="Python 1", owner=uuid.UUID(owner), join_code=uuid.uuid4().hex[:8], created_at=now()
    )
    await klass.save().run()
    cid = str(klass.id)
    ids = [await make_user(f"Student {i}") for i in range(students)]
    for sid in ids:
        await enroll(cid, sid)
    pair = await make_room(cid, owner, "Pair A", "pair", tuple(ids[:2]))
    demo = await make_room(cid, owner, "Demo", "demo")
    return World(cid, owner, ids, pair, demo, await make_user("Outsider"))
