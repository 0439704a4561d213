"""Forking a demo: the demo room's files, as they are now, copied into a student's personal room.

"Watch me, now you try": the student keeps the instructor's code and continues in their own room. The copy is a
server-side edit of the student's room document (logged, relayed to every replica like a keystroke) and a
:class:`~classroom.tables.Fork` row recording the demo's state vector at the moment of the copy, so what was
copied can be rebuilt from the demo's history later (``RoomManager.rebuild(state_vector=...)``).

Names: ``add`` refuses when a file name is taken in the student's room (:class:`NameClash`, 409) so the page can
show the choice; ``replace`` makes the demo's files the room's new file set (the old texts stay in the room's
history); ``rename`` keeps the student's files and gives clashing demo files a free name (``main_demo.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from classroom.auth.access import RoomAccess
from classroom.classes import service as classes
from classroom.errors import BadRequest, Conflict
from classroom.tables import Class, Fork, Room, User


class NameClash(Conflict):
    code = "fork_names_clash"


@dataclass(frozen=True)
class Plan:
    target: Room | None
    files: dict[str, str]
    clashes: list[str]


@dataclass(frozen=True)
class Forked:
    fork_id: uuid.UUID
    target: Room
    mode: str
    names: dict[str, str]
    state_vector: bytes


def require_demo(access: RoomAccess) -> None:
    if access.room.kind != "demo":
        raise BadRequest(f"only demo rooms can be forked (this is a {access.room.kind} room)")


def free_name(name: str, taken: set[str]) -> str:
    """``main.py`` -> ``main_demo.py``, then ``main_demo2.py``...: a name not in ``taken`` (importable in Python)."""
    path = PurePosixPath(name)
    for n in range(1, 1000):
        candidate = str(path.with_name(f"{path.stem}_demo{'' if n == 1 else n}{path.suffix}"))
        if candidate not in taken:
            return candidate
    raise BadRequest(f"no free name for {name!r} in your room")


async def plan(rooms: Any, access: RoomAccess, student: uuid.UUID) -> Plan:
    """What a fork of this demo into ``student``'s room would copy, and which names clash."""
    require_demo(access)
    files = await rooms.files(str(access.room.id))
    target = await classes.personal_room(access.class_id, student)
    mine: dict[str, str] = {} if target is None else await rooms.files(str(target.id))
    # An empty file of the same name (a fresh room's main.py) is not work to protect.
    return Plan(target, files, sorted(n for n in files if mine.get(n)))


async def _target_room(klass: Class, student: User) -> Room:
    room = await classes.personal_room(uuid.UUID(str(klass.id)), student.id)
    if room is None:  # archived, or enrolled before personal rooms existed: make one, as joining does
        room = await classes.create_room(
            klass, student, f"{student.display_name}'s room", "personal", [student.id], None
        )
    return room


async def fork(rooms: Any, access: RoomAccess, student: User, actor: User, mode: str) -> Forked:
    """Copy the demo's files into ``student``'s personal room; record and return what was done.

    Raises :class:`BadRequest` for a room that is not a demo, :class:`NameClash` for ``add`` with taken names.
    """
    require_demo(access)
    klass = await Class.objects().where(Class.id == access.class_id).first().run()
    if klass is None:
        raise BadRequest("the demo's class no longer exists")
    target = await _target_room(klass, student)
    source_id, target_id = str(access.room.id), str(target.id)
    # The files and the state vector are read in one step of the event loop: they describe the same document.
    files, state_vector = await rooms.files(source_id), await rooms.state_vector(source_id)
    mine = await rooms.files(target_id)
    names = {name: name for name in files}
    if mode == "add":
        # An empty file of the same name (a fresh room's main.py) is not work to protect.
        taken = sorted(n for n in files if mine.get(n))
        if taken:
            raise NameClash(f"your room already has {', '.join(taken)}: choose replace or rename")
    elif mode == "rename":
        used = set(mine) | set(files)
        for name in sorted(files):
            if mine.get(name):
                names[name] = free_name(name, used)
                used.add(names[name])
    elif mode != "replace":
        raise BadRequest("mode: expected add, replace or rename")
    await rooms.set_files(target_id, {names[n]: text for n, text in files.items()}, replace=mode == "replace")
    row = Fork(
        id=uuid.uuid4(),
        source=access.room.id,
        target=target.id,
        user=student.id,
        actor=actor.id,
        mode=mode,
        state_vector=state_vector,
        files=names,
        created_at=datetime.now(UTC),
    )
    await row.save().run()
    return Forked(row.id, target, mode, names, state_vector)


async def students_of(class_id: uuid.UUID) -> list[User]:
    ids = await classes.enrolled_students(class_id)
    if not ids:
        return []
    return list(await User.objects().where(User.id.is_in(list(ids)) & User.disabled.eq(False)).run())
