"""The snapshot a page gets when its class channel (re)connects: everything its user may see, read from the
database (the truth the session shard writes first), so a page that missed events is whole again.

Shape (``type: "snapshot"``): ``class`` (id, name, course, archived; ``join_code`` for instructors), ``me``,
``rooms`` (the rooms this user may open: id, name, mode, lesson, members), ``lessons``, ``hands`` (instructors:
the open queue oldest first; a student: their own), ``follow``, ``online``; for instructors also ``roster``;
with the grid open also ``tiles`` (per room), ``runs`` (each student's last run) and ``stuck``.
"""

from __future__ import annotations

import uuid
from typing import Any

from actors.session_state import ClassSession
from classroom import courses
from classroom.console.viewer import Viewer, may_open
from classroom.events.runs import run_event
from classroom.stores import PiccoloSessionStore
from classroom.tables import Class, Run, User

RUN_FIELDS = ("id", "user", "room", "verdict", "error_type", "error_message", "error_line", "finished_at")


async def last_runs(class_id: uuid.UUID, limit: int = 2000) -> dict[str, dict[str, Any]]:
    """Each user's latest finished run in the class."""
    rows = (
        await Run.select(*(getattr(Run, f) for f in RUN_FIELDS))
        .where((Run.klass == class_id) & (Run.status == "finished"))
        .order_by(Run.finished_at, ascending=False)
        .limit(limit)
        .run()
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        found.setdefault(str(row["user"]), run_event(row))
    return found


def room_view(room: Any, archived: bool = False) -> dict[str, Any]:
    return {**room.view(), "archived": archived}


async def build(
    class_id: uuid.UUID, user: User, viewer: Viewer, online: list[dict[str, str]], default_course: str
) -> dict[str, Any]:
    """The snapshot for ``viewer``; also fills ``viewer.rooms`` (what the page knows of each room)."""
    klass = await Class.objects().where(Class.id == class_id).first().run()
    assert klass is not None  # the handshake checked it a moment ago
    store = PiccoloSessionStore()
    session = await store.load_class(str(class_id))
    if session is None:  # archived: nothing live any more
        session = ClassSession(class_id=str(class_id), name=str(klass.name), owner_id=str(klass.owner))
    me = str(user.id)
    viewer.rooms = {rid: room_view(r) for rid, r in session.rooms.items()}
    rooms = [
        room_view(r)
        for r in sorted(session.rooms.values(), key=lambda r: r.name.lower())
        if viewer.instructor or may_open(me, room_view(r))
    ]
    hands = [h.view() for h in session.hands if h.user_id in session.roster and (viewer.instructor or h.user_id == me)]
    lessons = await courses.latest_lessons(klass.course or default_course)
    snapshot: dict[str, Any] = {
        "type": "snapshot",
        "class": {
            "id": str(klass.id),
            "name": klass.name,
            "course": klass.course,
            "archived": bool(klass.archived),
            "join_code": klass.join_code if viewer.instructor else None,
        },
        "me": {"id": me, "display_name": user.display_name, "role": "instructor" if viewer.instructor else "student"},
        "rooms": rooms,
        "lessons": [{"slug": lesson.slug, "title": lesson.title, "course": lesson.course} for lesson in lessons],
        "hands": hands,
        "follow": None if session.follow is None else {"room_id": session.follow.room_id, "by": session.follow.by},
        "online": online,
    }
    if viewer.instructor:
        snapshot["roster"] = session.view()["roster"]
    return snapshot
