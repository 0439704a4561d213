"""Helpers for the run pipeline's tests: users and runs in the real (SQLite) database, a dispatcher to drive."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from actors.dispatcher import Dispatcher
from actors.queue import QueuedRun
from classroom.stores.run_queue import PiccoloRunQueue
from classroom.tables import Run, User


async def backend_or_skip() -> None:
    """Skip (with the probe's reason) when no sandbox backend works on this machine; fail instead where a backend
    is required (``CI=true``, ``CLASSROOM_TEST_REQUIRE_BACKENDS``: see tests/must_work.py)."""
    from must_work import unusable

    from execution import probe_backends

    reports = await probe_backends()
    if not any(r.available and r.selftest and r.selftest.ok for r in reports):
        unusable("sandbox", "no sandbox backend usable: " + "; ".join(f"{r.name}: {r.reason}" for r in reports))


CLASS_OF: dict[str, str] = {}  # student id -> the class make_user enrolled them in


async def slots_ready(dispatcher: Dispatcher) -> None:
    """Wait until every slot of a server's dispatcher is ready (up to 120 s: Ray starts their processes two at a
    time, slower on a loaded host); fail saying why when none is. Tests that expect a free slot start here."""
    fleet: Any = dispatcher.fleet  # a RayFleet: slots() lists every slot, ready or not
    for _ in range(1200):
        if len(fleet.ready()) == len(fleet.slots()) > 0:
            break
        await asyncio.sleep(0.1)
    assert fleet.ready(), fleet.unusable_reason() or fleet.slots()


async def make_user(name: str = "student", role: str = "student") -> str:
    """A user; a student is also enrolled in a class of their own (:data:`CLASS_OF`), as every student is: a
    student in no class can do nothing but join one."""
    from classroom.tables import Enrollment

    user = User(id=uuid.uuid4(), role=role, display_name=name, created_at=datetime.now(UTC))
    await user.save().run()
    if role == "student":
        owner = User(id=uuid.uuid4(), role="instructor", display_name=f"teacher of {name}", created_at=user.created_at)
        await owner.save().run()
        class_id = await make_class(str(owner.id))
        enrollment = Enrollment(
            id=uuid.uuid4(), klass=uuid.UUID(class_id), user=user.id, role="student", created_at=user.created_at
        )
        await enrollment.save().run()
        CLASS_OF[str(user.id)] = class_id
    return str(user.id)


async def submit(
    dispatcher: Dispatcher,
    user: str,
    code: str,
    *,
    interactive: bool = False,
    priority: int = 0,
    room: str | None = None,
) -> str:
    run_id = uuid.uuid4()
    files = {"main.py": code}
    now = datetime.now(UTC)
    row = Run(
        id=run_id,
        user=uuid.UUID(user),
        files=files,
        status="queued",
        priority=priority,
        code_hash=hashlib.sha256(code.encode()).hexdigest(),
        created_at=now,
    )
    await PiccoloRunQueue().insert(row)
    spec: dict[str, Any] = {"files": files, "entry": "main.py", "stdin": "", "args": [], "interactive": interactive}
    dispatcher.accept(QueuedRun(str(run_id), user, room, None, priority, now), spec)
    return str(run_id)


async def wait_finished(run_ids: list[str], within: float = 60.0) -> list[dict[str, Any]]:
    ids = [uuid.UUID(r) for r in run_ids]
    deadline = asyncio.get_running_loop().time() + within
    while True:
        rows = await Run.select().where(Run.id.is_in(ids) & (Run.status == "finished")).run()
        if len(rows) == len(ids):
            return list(rows)
        if asyncio.get_running_loop().time() > deadline:
            statuses = await Run.select(Run.id, Run.status, Run.attempts).where(Run.id.is_in(ids)).run()
            raise AssertionError(f"not finished in {within}s: {[s for s in statuses if s['status'] != 'finished']}")
        await asyncio.sleep(0.05)


async def make_class(owner: str) -> str:
    from classroom.tables import Class

    klass = Class(
        id=uuid.uuid4(),
        name="Python 1",
        owner=uuid.UUID(owner),
        join_code=uuid.uuid4().hex[:8],
        created_at=datetime.now(UTC),
    )
    await klass.save().run()
    return str(klass.id)


async def make_room(class_id: str, creator: str, kind: str = "personal", members: tuple[str, ...] = ()) -> str:
    from classroom.tables import Enrollment, Room, RoomMember

    room = Room(
        id=uuid.uuid4(),
        klass=uuid.UUID(class_id),
        name="room",
        kind=kind,
        created_by=uuid.UUID(creator),
        created_at=datetime.now(UTC),
    )
    await room.save().run()
    for member in members:
        now = datetime.now(UTC)
        await (
            Enrollment(
                id=uuid.uuid4(), klass=uuid.UUID(class_id), user=uuid.UUID(member), role="student", created_at=now
            )
            .save()
            .run()
        )
        await (
            RoomMember(id=uuid.uuid4(), room=room.id, user=uuid.UUID(member), role="writer", created_at=now)
            .save()
            .run()
        )
    return str(room.id)


async def frames_until(ws: Any, kind: str, text: str = "") -> list[dict[str, Any]]:
    """A socket's JSON messages up to the first of ``kind`` (containing ``text``, for output); 60 s per message."""
    seen = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 60))
        seen.append(message)
        if message["type"] == kind and text in message.get("data", ""):
            return seen
