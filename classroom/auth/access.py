"""What a user may touch: object-by-object checks for classes, rooms and runs.

Policy (one rule, applied everywhere): an object the user may not see at all answers **404 Not Found** —
whether it exists in another class or not at all — so ids of other classes cannot be probed. An object the
user can see but may not change answers **403 Forbidden** (e.g. a student rotating their class's join code).
Malformed ids are 404, never a 500.

Who is who in a class: admins see every class; the class owner and ``instructor`` enrollments are its
instructors; ``student`` enrollments without ``removed_at`` are its students.

Rooms: instructors (and admins) read and write every room of their class. A *demo* room is read by every
student of the class and written by no student. *Personal* and *pair* rooms are visible only to their members;
a member with role ``writer`` writes.

Runs (:func:`run_access`): the submitter, the members of the run's room and the class's instructors (and
admins) may read and stream; only the submitter and the class's instructors (and admins) may control it
(send stdin, cancel).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from classroom.errors import Forbidden, NotFound
from classroom.tables import Class, Enrollment, Room, RoomMember, User


def parse_id(value: object, what: str) -> uuid.UUID:
    """A UUID from a path parameter or column value; :class:`NotFound` for anything else."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound(f"no such {what}") from None


@dataclass(frozen=True)
class ClassAccess:
    klass: Class
    role: str  # "admin", "instructor" or "student": the user's standing in this class

    @property
    def class_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.klass.id))

    @property
    def is_instructor(self) -> bool:
        return self.role in ("admin", "instructor")

    def require_instructor(self) -> None:
        if not self.is_instructor:
            raise Forbidden("only the class's instructors may do this")


@dataclass(frozen=True)
class RoomAccess:
    room: Room
    class_id: uuid.UUID
    can_read: bool
    can_write: bool
    is_instructor: bool


async def class_role(user: User, class_id: uuid.UUID) -> str | None:
    """The user's standing in a class that exists, or None when they have none."""
    klass = await Class.objects().where(Class.id == class_id).first().run()
    if klass is None:
        return None
    return await _role_in(user, klass)


async def _role_in(user: User, klass: Class) -> str | None:
    if user.role == "admin":
        return "admin"
    if klass.owner == user.id:
        return "instructor"
    enrollment = (
        await Enrollment.objects()
        .where((Enrollment.klass == klass.id) & (Enrollment.user == user.id) & Enrollment.removed_at.is_null())
        .first()
        .run()
    )
    return None if enrollment is None else str(enrollment.role)


async def class_access(user: User, class_id: object) -> ClassAccess:
    """The user's access to a class; :class:`NotFound` when it does not exist or they have no part in it."""
    cid = parse_id(class_id, "class")
    klass = await Class.objects().where(Class.id == cid).first().run()
    if klass is None:
        raise NotFound("no such class")
    role = await _role_in(user, klass)
    if role is None:
        raise NotFound("no such class")
    return ClassAccess(klass, role)


async def room_access(user: User, room_id: object) -> RoomAccess:
    """The user's access to a room; :class:`NotFound` when it does not exist or they may not read it."""
    rid = parse_id(room_id, "room")
    room = await Room.objects().where(Room.id == rid).first().run()
    if room is None:
        raise NotFound("no such room")
    klass = await Class.objects().where(Class.id == room.klass).first().run()
    role = None if klass is None else await _role_in(user, klass)
    if role is None:
        raise NotFound("no such room")
    class_id = parse_id(room.klass, "class")
    if role in ("admin", "instructor"):
        return RoomAccess(room, class_id, can_read=True, can_write=True, is_instructor=True)
    if room.kind == "demo":
        return RoomAccess(room, class_id, can_read=True, can_write=False, is_instructor=False)
    member = await RoomMember.objects().where((RoomMember.room == rid) & (RoomMember.user == user.id)).first().run()
    if member is None:
        raise NotFound("no such room")
    return RoomAccess(room, class_id, can_read=True, can_write=member.role == "writer", is_instructor=False)


def _field(run: Any, name: str) -> uuid.UUID | None:
    value = run.get(name) if isinstance(run, Mapping) else getattr(run, name, None)
    if value is None:
        return None
    if isinstance(value, Mapping):  # a prefetched foreign key
        value = value.get("id")
    elif hasattr(value, "id"):
        value = value.id
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def run_access(user: User, run: Any, *, control: bool = False) -> bool:
    """Whether ``user`` may read/stream ``run`` (or, with ``control``, send stdin / cancel it).

    ``run`` is a :class:`~classroom.tables.Run` row or a mapping with ``user``, ``room`` and ``klass`` ids.
    """
    if user.role == "admin":
        return True
    submitter, room_id, class_id = _field(run, "user"), _field(run, "room"), _field(run, "klass")
    if submitter == user.id:
        return True
    if room_id is not None and class_id is None:
        room = await Room.objects().where(Room.id == room_id).first().run()
        class_id = None if room is None else parse_id(room.klass, "class")
    if class_id is not None and await class_role(user, class_id) == "instructor":
        return True
    if control or room_id is None:
        return False
    try:
        return (await room_access(user, room_id)).can_read
    except NotFound:
        return False
