"""The cast and the objects of the authorization matrix, built fresh in the bound database.

Actors: ``anonymous``, ``student_a`` and ``student_b`` (class 1), ``student_other`` (class 2), ``instructor``
(owner of class 1), ``other_instructor`` (owner of class 2), ``admin``.

Objects: ``class1``/``class2``; rooms ``room_a`` (A's personal room), ``room_b`` (B's), ``pair_ab`` (A+B),
``demo1`` (class 1 demo), ``room_other`` (the other student's personal room); runs ``run_a`` (A in room_a),
``run_demo`` (the instructor in demo1); ``token_a`` (an API token of A). Add what a new feature needs to
``World.extra`` from a rows module's ``setup(world)`` hook.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from classroom.auth import service as auth
from classroom.auth import tokens
from classroom.settings import Settings
from classroom.tables import ApiToken, Class, Enrollment, Room, RoomMember, Run, User

ACTORS = ("anonymous", "student_a", "student_b", "student_other", "instructor", "other_instructor", "admin")


@dataclass
class World:
    settings: Settings
    users: dict[str, User]
    class1: Class
    class2: Class
    room_a: Room
    room_b: Room
    pair_ab: Room
    demo1: Room
    room_other: Room
    run_a: Run
    run_demo: Run
    token_a: ApiToken
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        """Bearer credentials of an actor for HTTP (anonymous: none)."""
        if actor == "anonymous":
            return {}
        return {"Authorization": f"Bearer {auth.issue_api_jwt(self.settings, self.users[actor])}"}

    def ws_token(self, actor: str) -> str | None:
        if actor == "anonymous":
            return None
        return auth.issue_ws_token(self.settings, self.users[actor])


def _now() -> datetime:
    return datetime.now(UTC)


async def _user(role: str, name: str) -> User:
    user = User(id=uuid.uuid4(), role=role, display_name=name, created_at=_now())
    await user.save().run()
    return user


async def _class(owner: User, students: list[User]) -> Class:
    klass = Class(
        id=uuid.uuid4(),
        name=f"class of {owner.display_name}",
        owner=owner.id,
        join_code=uuid.uuid4().hex[:8].upper(),
        course="sample",
        created_at=_now(),
    )
    await klass.save().run()
    await Enrollment(id=uuid.uuid4(), klass=klass.id, user=owner.id, role="instructor", created_at=_now()).save().run()
    for student in students:
        await (
            Enrollment(id=uuid.uuid4(), klass=klass.id, user=student.id, role="student", created_at=_now()).save().run()
        )
    return klass


async def _room(klass: Class, creator: User, kind: str, members: list[User]) -> Room:
    room = Room(
        id=uuid.uuid4(),
        klass=klass.id,
        name=f"{kind} room",
        kind=kind,
        created_by=creator.id,
        lesson="sample/hello",
        created_at=_now(),
    )
    await room.save().run()
    for member in members:
        await RoomMember(id=uuid.uuid4(), room=room.id, user=member.id, role="writer", created_at=_now()).save().run()
    return room


async def _run(user: User, room: Room) -> Run:
    run = Run(
        id=uuid.uuid4(),
        user=user.id,
        klass=room.klass,
        room=room.id,
        status="finished",
        verdict="ok",
        files={"main.py": "print(1)"},
        stdout="1\n",
        created_at=_now(),
        finished_at=_now(),
    )
    await run.save().run()
    return run


async def build_world(settings: Settings) -> World:
    users = {
        "student_a": await _user("student", "Ann"),
        "student_b": await _user("student", "Ben"),
        "student_other": await _user("student", "Olga"),
        "instructor": await _user("instructor", "Ines"),
        "other_instructor": await _user("instructor", "Otto"),
        "admin": await _user("admin", "Ada"),
    }
    class1 = await _class(users["instructor"], [users["student_a"], users["student_b"]])
    class2 = await _class(users["other_instructor"], [users["student_other"]])
    room_a = await _room(class1, users["instructor"], "personal", [users["student_a"]])
    room_b = await _room(class1, users["instructor"], "personal", [users["student_b"]])
    pair_ab = await _room(class1, users["instructor"], "pair", [users["student_a"], users["student_b"]])
    demo1 = await _room(class1, users["instructor"], "demo", [])
    room_other = await _room(class2, users["other_instructor"], "personal", [users["student_other"]])
    _, digest = tokens.new_api_token()
    token_a = ApiToken(id=uuid.uuid4(), user=users["student_a"].id, name="a", token_hash=digest, created_at=_now())
    await token_a.save().run()
    return World(
        settings=settings,
        users=users,
        class1=class1,
        class2=class2,
        room_a=room_a,
        room_b=room_b,
        pair_ab=pair_ab,
        demo1=demo1,
        room_other=room_other,
        run_a=await _run(users["student_a"], room_a),
        run_demo=await _run(users["instructor"], demo1),
        token_a=token_a,
    )
