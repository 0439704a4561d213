"""The access rules as functions (what the runs and collab endpoints call), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from authz_world import World
from piccolo.engine.base import Engine

from classroom.auth.access import class_access, room_access, run_access
from classroom.errors import Forbidden, NotFound
from classroom.tables import Enrollment

pytestmark = pytest.mark.anyio

STUDENTS_AND_STAFF = ("student_a", "student_b", "student_other", "instructor", "other_instructor", "admin")


@pytest.fixture
def app_database(database: Engine[Any]) -> Engine[Any]:
    return database


async def test_run_access(world: World) -> None:
    async def allowed(run: Any, control: bool) -> list[str]:
        return [a for a in STUDENTS_AND_STAFF if await run_access(world.users[a], run, control=control)]

    assert await allowed(world.run_a, False) == ["student_a", "instructor", "admin"]
    assert await allowed(world.run_a, True) == ["student_a", "instructor", "admin"]
    assert await allowed(world.run_demo, False) == ["student_a", "student_b", "instructor", "admin"]
    assert await allowed(world.run_demo, True) == ["instructor", "admin"]
    as_mapping = {"user": world.users["student_b"].id, "room": world.pair_ab.id, "klass": None}
    assert await allowed(as_mapping, False) == ["student_a", "student_b", "instructor", "admin"]
    assert await allowed(as_mapping, True) == ["student_b", "instructor", "admin"]
    roomless = {"user": str(world.users["student_a"].id), "room": None, "klass": str(world.class1.id)}
    assert await allowed(roomless, False) == ["student_a", "instructor", "admin"]


async def test_removed_students_lose_access(world: World) -> None:
    student = world.users["student_a"]
    assert (await room_access(student, world.room_a.id)).can_write
    await Enrollment.update({Enrollment.removed_at: world.class1.created_at}).where(Enrollment.user == student.id).run()
    with pytest.raises(NotFound):
        await room_access(student, world.room_a.id)
    with pytest.raises(NotFound):
        await class_access(student, world.class1.id)
    # They still see their own past runs (the submitter rule), but nothing of the class's.
    assert await run_access(student, world.run_a)
    assert not await run_access(student, world.run_demo)


async def test_class_access_roles_and_bad_ids(world: World) -> None:
    assert (await class_access(world.users["instructor"], str(world.class1.id))).is_instructor
    student = await class_access(world.users["student_b"], world.class1.id)
    assert student.role == "student"
    with pytest.raises(Forbidden):
        student.require_instructor()
    for bad in ("nope", "", None, 42, "../etc"):
        with pytest.raises(NotFound):
            await class_access(world.users["admin"], bad)
        with pytest.raises(NotFound):
            await room_access(world.users["admin"], bad)
    admin = await room_access(world.users["admin"], world.room_other.id)
    assert admin.can_write and admin.is_instructor and admin.class_id == world.class2.id
