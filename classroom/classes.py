"""Classes, enrollment and rooms: the rules, with no HTTP knowledge (routes call these after the access checks).

A student joins with a class's join code and a display name: that creates a student account enrolled in the
class and a personal room for them (so the UI always has somewhere to code). Instructors create pair and demo
rooms; pair rooms hold 2–3 students of the class, personal rooms exactly one, demo rooms none (every student of
the class reads a demo room). Removing a student marks the enrollment removed (history and runs stay) and
closes their open sockets on every replica through :mod:`classroom.presence_fanout`.
"""

from __future__ import annotations

import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from classroom import presence_fanout
from classroom.errors import BadRequest, NotFound
from classroom.tables import Class, Enrollment, Room, RoomMember, User

# No 0/O, 1/I/L: codes are read aloud and typed from a projector.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
ROOM_SIZES = {"personal": (1, 1), "pair": (2, 3), "demo": (0, 0)}


def now() -> datetime:
    return datetime.now(UTC)


def new_join_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def clean_name(name: str, what: str, limit: int = 80) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > limit or any(unicodedata.category(c) in ("Cc", "Cs") for c in cleaned):
        raise BadRequest(f"{what}: expected 1–{limit} printable characters")
    return cleaned


async def create_class(owner: User, name: str, course: str | None) -> Class:
    klass = Class(
        id=uuid.uuid4(),
        name=clean_name(name, "name", 120),
        owner=owner.id,
        join_code=new_join_code(),
        course=course,
        created_at=now(),
    )
    await klass.save().run()
    await Enrollment(id=uuid.uuid4(), klass=klass.id, user=owner.id, role="instructor", created_at=now()).save().run()
    return klass


async def rotate_join_code(klass: Class) -> str:
    code = new_join_code()
    await Class.update({Class.join_code: code}).where(Class.id == klass.id).run()
    return code


@dataclass(frozen=True)
class Joined:
    user: User
    klass: Class
    room: Room


async def join(code: str, display_name: str, existing: User | None = None) -> Joined:
    """Enroll a student in the class with this join code, with a personal room; NotFound for a bad code.

    ``existing`` (the signed-in user, if any) is reused when it is a student, so one person joining a second
    class keeps one account; joining a class again is idempotent. Anyone else gets a new student account.
    """
    name = clean_name(display_name, "name")
    wanted = normalise_code(code)
    klass = None
    if wanted:
        klass = await Class.objects().where((Class.join_code == wanted) & Class.archived.eq(False)).first().run()
    if klass is None:
        raise NotFound("no class has this join code; check it with your instructor")
    if existing is not None and existing.role == "student":
        user = existing
    else:
        user = User(id=uuid.uuid4(), role="student", display_name=name, created_at=now())
        await user.save().run()
    if user.id not in await enrolled_students(klass.id):
        await Enrollment(id=uuid.uuid4(), klass=klass.id, user=user.id, role="student", created_at=now()).save().run()
    room = await personal_room(klass.id, user.id)
    if room is None:
        room = await create_room(klass, user, f"{user.display_name}'s room", "personal", [user.id], lesson=None)
    return Joined(user, klass, room)


async def personal_room(class_id: uuid.UUID, user_id: uuid.UUID) -> Room | None:
    mine = [r["room"] for r in await RoomMember.select(RoomMember.room).where(RoomMember.user == user_id).run()]
    if not mine:
        return None
    return (
        await Room.objects()
        .where((Room.id.is_in(mine)) & (Room.klass == class_id) & (Room.kind == "personal") & Room.archived.eq(False))
        .first()
        .run()
    )


async def enrolled_students(class_id: uuid.UUID) -> set[uuid.UUID]:
    rows = (
        await Enrollment.select(Enrollment.user)
        .where((Enrollment.klass == class_id) & (Enrollment.role == "student") & Enrollment.removed_at.is_null())
        .run()
    )
    return {uuid.UUID(str(r["user"])) for r in rows}


async def create_room(
    klass: Class, creator: User, name: str, kind: str, members: list[uuid.UUID], lesson: str | None
) -> Room:
    """A room of ``kind`` whose writers are ``members`` (students of the class); BadRequest when they are not."""
    if kind not in ROOM_SIZES:
        raise BadRequest(f"kind: expected one of {', '.join(ROOM_SIZES)}")
    low, high = ROOM_SIZES[kind]
    distinct = list(dict.fromkeys(members))
    if not low <= len(distinct) <= high:
        raise BadRequest(f"members: a {kind} room has {low}–{high} students, got {len(distinct)}")
    students = await enrolled_students(klass.id)
    strangers = [str(m) for m in distinct if m not in students]
    if strangers:
        raise BadRequest(f"members: not students of this class: {', '.join(strangers)}")
    room = Room(
        id=uuid.uuid4(),
        klass=klass.id,
        name=clean_name(name, "name", 120),
        kind=kind,
        created_by=creator.id,
        lesson=lesson,
        created_at=now(),
    )
    await room.save().run()
    for member in distinct:
        await RoomMember(id=uuid.uuid4(), room=room.id, user=member, role="writer", created_at=now()).save().run()
    return room


async def visible_rooms(class_id: uuid.UUID, user: User, is_instructor: bool) -> list[Room]:
    """The class's rooms this user may open: all of them for instructors; demo and own rooms for students."""
    rooms = (
        await Room.objects().where((Room.klass == class_id) & Room.archived.eq(False)).order_by(Room.created_at).run()
    )
    if is_instructor:
        return list(rooms)
    mine = {
        uuid.UUID(str(r["room"]))
        for r in await RoomMember.select(RoomMember.room).where(RoomMember.user == user.id).run()
    }
    return [r for r in rooms if r.kind == "demo" or r.id in mine]


async def room_members(room_id: uuid.UUID) -> list[tuple[User, str]]:
    rows = await RoomMember.objects().where(RoomMember.room == room_id).order_by(RoomMember.created_at).run()
    users = {u.id: u for u in await User.objects().where(User.id.is_in([r.user for r in rows] or [uuid.uuid4()])).run()}
    return [(users[r.user], str(r.role)) for r in rows if r.user in users]


@dataclass(frozen=True)
class RosterEntry:
    user: User
    role: str
    joined_at: datetime


async def roster(class_id: uuid.UUID) -> list[RosterEntry]:
    rows = (
        await Enrollment.objects()
        .where((Enrollment.klass == class_id) & Enrollment.removed_at.is_null())
        .order_by(Enrollment.created_at)
        .run()
    )
    ids = [r.user for r in rows] or [uuid.uuid4()]
    users = {u.id: u for u in await User.objects().where(User.id.is_in(ids)).run()}
    return [RosterEntry(users[r.user], str(r.role), r.created_at) for r in rows if r.user in users]


async def remove_student(klass: Class, user_id: uuid.UUID) -> int:
    """End a student's enrollment and close their sockets; return how many sockets closed. NotFound if absent."""
    updated = (
        await Enrollment.update({Enrollment.removed_at: now()})
        .where(
            (Enrollment.klass == klass.id)
            & (Enrollment.user == user_id)
            & (Enrollment.role == "student")
            & Enrollment.removed_at.is_null()
        )
        .returning(Enrollment.id)
        .run()
    )
    if not updated:
        raise NotFound("no such student in this class")
    return await presence_fanout.remove(user_id, class_id=uuid.UUID(str(klass.id)))


async def classes_of(user: User) -> list[tuple[Class, str]]:
    """The classes a user belongs to with their role in each (admins: every class, as admin)."""
    if user.role == "admin":
        return [(k, "admin") for k in await Class.objects().order_by(Class.created_at).run()]
    rows = await Enrollment.objects().where((Enrollment.user == user.id) & Enrollment.removed_at.is_null()).run()
    roles = {r.klass: str(r.role) for r in rows}
    owned = await Class.objects().where(Class.owner == user.id).run()
    for k in owned:
        roles[k.id] = "instructor"
    if not roles:
        return []
    found = await Class.objects().where(Class.id.is_in(list(roles))).order_by(Class.created_at).run()
    return [(k, roles[k.id]) for k in found]
