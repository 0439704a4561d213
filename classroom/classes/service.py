"""Classes, enrollment and rooms: the rules, with no HTTP knowledge (routes call these after the access checks).

A student joins with a class's join code and a display name: that creates a student account enrolled in the
class and a personal room for them (so the UI always has somewhere to code). Instructors create pair and demo
rooms; pair rooms hold 2–3 students of the class, personal rooms exactly one, demo rooms none (every student of
the class reads a demo room). Removing a student marks the enrollment removed (history and runs stay) and
closes their open sockets on every replica through :mod:`classroom.presence.fanout`.
"""

from __future__ import annotations

import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from classroom.errors import BadRequest, Conflict, NotFound
from classroom.presence import fanout
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


# Characters that change how the text around a name is shown without being visible themselves: bidi embeddings,
# overrides and isolates (U+202E turns "gpj.exe" into "exe.jpg") and zero-width spaces (two names that look alike).
# Zero-width (non-)joiners stay: scripts such as Persian and emoji sequences need them.
_INVISIBLE = dict.fromkeys(
    [0x061C, 0x200B, 0x200E, 0x200F, *range(0x202A, 0x202F), 0x2060, *range(0x2066, 0x206A), 0xFEFF]
)


def clean_name(name: str, what: str, limit: int = 80) -> str:
    """A name as people will see it: invisible layout controls removed, white space collapsed, 1..limit
    printable characters (else a 400 naming ``what``). Markup is kept as text; pages render names as text."""
    cleaned = " ".join(name.translate(_INVISIBLE).split())
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
    return await fanout.remove(user_id, class_id=uuid.UUID(str(klass.id)))


async def classes_of(user: User) -> list[tuple[Class, str]]:
    """The classes a user belongs to with their role in each (admins: every class, as admin). A student's list
    leaves out archived classes; instructors keep theirs (to unarchive them)."""
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
    return [(k, roles[k.id]) for k in found if not (k.archived and roles[k.id] == "student")]


async def update_class(klass: Class, *, name: str | None, archived: bool | None) -> Class:
    """Rename and/or (un)archive a class. An archived class takes no joins and leaves its students' lists."""
    changes: dict[object, object] = {}
    if name is not None:
        klass.name = clean_name(name, "name", 120)
        changes[Class.name] = klass.name
    if archived is not None:
        klass.archived = archived
        changes[Class.archived] = archived
    if changes:
        await Class.update(changes).where(Class.id == klass.id).run()  # type: ignore[arg-type]
    return klass


async def update_room(room: Room, *, name: str | None, archived: bool | None) -> Room:
    """Rename and/or (un)archive a room. An archived room keeps its document and runs; nobody opens it any more.
    A personal room is never archived (it is where its student lands)."""
    changes: dict[object, object] = {}
    if name is not None:
        room.name = clean_name(name, "name", 120)
        changes[Room.name] = room.name
    if archived is not None:
        if archived and room.kind == "personal":
            raise Conflict("a student's personal room cannot be archived")
        room.archived = archived
        changes[Room.archived] = archived
    if changes:
        await Room.update(changes).where(Room.id == room.id).run()  # type: ignore[arg-type]
    return room


async def set_room_members(room: Room, members: list[uuid.UUID]) -> list[uuid.UUID]:
    """Replace a pair room's members (2–3 students of its class); returns the users who left it."""
    if room.kind != "pair":
        raise Conflict(f"only a pair room's members can change (this is a {room.kind} room)")
    if room.archived:
        raise Conflict("this room is archived")
    wanted = list(dict.fromkeys(members))
    low, high = ROOM_SIZES["pair"]
    if not low <= len(wanted) <= high:
        raise BadRequest(f"members: a pair room has {low}–{high} students, got {len(wanted)}")
    strangers = [str(m) for m in wanted if m not in await enrolled_students(uuid.UUID(str(room.klass)))]
    if strangers:
        raise BadRequest(f"members: not students of this class: {', '.join(strangers)}")
    rows = await RoomMember.select(RoomMember.user).where(RoomMember.room == room.id).run()
    current = {uuid.UUID(str(r["user"])) for r in rows}
    gone = [u for u in current if u not in wanted]
    if gone:
        await RoomMember.delete().where((RoomMember.room == room.id) & RoomMember.user.is_in(gone)).run()
    for member in wanted:
        if member not in current:
            await RoomMember(id=uuid.uuid4(), room=room.id, user=member, role="writer", created_at=now()).save().run()
    return gone


def groups_of(students: list[uuid.UUID]) -> list[list[uuid.UUID]]:
    """Pairs in the given order; with an odd number the odd one out joins the last pair (a group of three)."""
    if len(students) < 2:
        raise BadRequest("pairing needs at least two students")
    groups = [students[i : i + 2] for i in range(0, len(students) - 1, 2)]
    if len(students) % 2:
        groups[-1].append(students[-1])
    return groups


async def unpaired_students(class_id: uuid.UUID) -> list[uuid.UUID]:
    """The class's students who are in no active pair room, in the order they joined."""
    entries = [e for e in await roster(class_id) if e.role == "student"]
    pair_rooms = [
        r["id"]
        for r in await Room.select(Room.id)
        .where((Room.klass == class_id) & (Room.kind == "pair") & Room.archived.eq(False))
        .run()
    ]
    paired: set[uuid.UUID] = set()
    if pair_rooms:
        rows = await RoomMember.select(RoomMember.user).where(RoomMember.room.is_in(pair_rooms)).run()
        paired = {uuid.UUID(str(r["user"])) for r in rows}
    return [uuid.UUID(str(e.user.id)) for e in entries if uuid.UUID(str(e.user.id)) not in paired]
