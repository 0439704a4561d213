"""Class events of changes the edge writes itself (rooms, roster, the class), read back from the database.

The routes that create or change a class's rooms, roster or settings call these after their write, so every open
page of the class learns of it (the session shard publishes its own changes: hands, modes, follow-me). Each
function is a no-op when the app has no event bus (``app.state.events`` unset, e.g. a bare test app).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from starlette.requests import HTTPConnection

from classroom.events.service import EVERYONE, INSTRUCTORS, ClassEvents
from classroom.tables import Class, Enrollment, Room, RoomMember


def bus(conn: HTTPConnection) -> ClassEvents | None:
    found: ClassEvents | None = getattr(conn.app.state, "events", None)
    return found


async def room_view(room_id: uuid.UUID) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """``(class_id, room)`` in the shape of the session shard's room view, plus ``archived``."""
    room = await Room.objects().where(Room.id == room_id).first().run()
    if room is None:
        return None
    members = await RoomMember.select(RoomMember.user, RoomMember.role).where(RoomMember.room == room_id).run()
    return uuid.UUID(str(room.klass)), {
        "id": str(room.id),
        "name": room.name,
        "mode": room.kind,
        "lesson": room.lesson,
        "members": {str(m["user"]): str(m["role"]) for m in members},
        "archived": bool(room.archived),
    }


async def rooms_changed(conn: HTTPConnection, room_ids: Iterable[uuid.UUID]) -> None:
    events = bus(conn)
    if events is None:
        return
    for room_id in room_ids:
        found = await room_view(room_id)
        if found is not None:
            class_id, room = found
            events.publish(class_id, {"type": "room", "room": room}, EVERYONE)


async def roster_changed(conn: HTTPConnection, class_id: uuid.UUID, removed: Iterable[uuid.UUID] = ()) -> None:
    """The class's members now (instructors only), and who just left."""
    events = bus(conn)
    if events is None:
        return
    klass = await Class.objects().where(Class.id == class_id).first().run()
    if klass is None:
        return
    rows = (
        await Enrollment.select(
            Enrollment.user, Enrollment.role, Enrollment.user.display_name.as_alias("name"), Enrollment.created_at
        )
        .where((Enrollment.klass == class_id) & Enrollment.removed_at.is_null())
        .order_by(Enrollment.created_at)
        .run()
    )
    members = [
        {
            "user_id": str(r["user"]),
            "display_name": str(r["name"]),
            "role": "instructor" if r["user"] == klass.owner else str(r["role"]),
        }
        for r in rows
    ]
    event = {"type": "roster", "members": members, "removed": [str(u) for u in removed]}
    events.publish(class_id, event, INSTRUCTORS)


def class_changed(conn: HTTPConnection, klass: Class) -> None:
    events = bus(conn)
    if events is not None:
        event = {"type": "class", "class": {"id": str(klass.id), "name": klass.name, "archived": bool(klass.archived)}}
        events.publish(klass.id, event, EVERYONE)


def join_code_changed(conn: HTTPConnection, class_id: uuid.UUID, code: str) -> None:
    events = bus(conn)
    if events is not None:
        events.publish(class_id, {"type": "join_code", "join_code": code}, INSTRUCTORS)
