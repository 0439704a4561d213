"""Classes, rosters and rooms over HTTP. Every handler authenticates, then checks the object (see
:mod:`classroom.auth.access` for the 404-vs-403 policy), then calls :mod:`classroom.classes.service`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from classroom import audit, courses
from classroom.api import endpoint
from classroom.auth import service as auth
from classroom.auth.access import parse_id, room_access
from classroom.classes import service as classes
from classroom.classes.schemas import (
    ClassCreated,
    ClassIn,
    ClassOut,
    ClassPatch,
    ClassState,
    Created,
    JoinCodeOut,
    LessonBrief,
    MemberOut,
    MembersIn,
    MembersOut,
    OnlineUser,
    PairRoom,
    PairsIn,
    PairsOut,
    RemovedOut,
    RoomBrief,
    RoomIn,
    RoomLesson,
    RoomOut,
    RoomPatch,
    RosterEntryOut,
    RosterOut,
)
from classroom.errors import BadRequest, Forbidden
from classroom.events import publish
from classroom.presence import service as presence

OnlineProvider = Callable[[uuid.UUID], list[tuple[uuid.UUID, str]]]


def default_course(request: Request) -> str:
    name: str = getattr(request.app.state, "default_course", "sample")
    return name


def online_provider(request: Request) -> OnlineProvider:
    """Who is connected to a class: ``app.state.online`` when a room manager sets it, else the presence registry."""
    provider: OnlineProvider = getattr(request.app.state, "online", presence.online)
    return provider


@endpoint(
    "POST",
    "/api/classes",
    summary="Create a class (instructors and admins)",
    tag="classes",
    body=ClassIn,
    response=ClassCreated,
    status=201,
)
async def create_class(request: Request, body: ClassIn) -> ClassCreated:
    user = await auth.require_user(request)
    auth.require_role(user, "instructor")
    klass = await classes.create_class(user, body.name, body.course or default_course(request))
    await audit.record("class.created", actor=user.id, class_id=klass.id, ip=auth.client_ip(request))
    return ClassCreated(id=klass.id, join_code=klass.join_code)


@endpoint(
    "GET",
    "/api/classes/{class_id}",
    summary="A class: its rooms you may open, its lessons, who is online (join code for instructors)",
    tag="classes",
    response=ClassOut,
    errors=(404,),
)
async def get_class(request: Request) -> ClassOut:
    user, access = await auth.class_of_request(request)
    klass = access.klass
    rooms = await classes.visible_rooms(access.class_id, user, access.is_instructor)
    lessons = await courses.latest_lessons(klass.course or default_course(request))
    online = online_provider(request)(access.class_id)
    return ClassOut(
        id=klass.id,
        name=klass.name,
        course=klass.course,
        join_code=klass.join_code if access.is_instructor else None,
        rooms=[RoomBrief(id=r.id, name=r.name, kind=r.kind, lesson=r.lesson) for r in rooms],
        lessons=[LessonBrief(slug=lesson.slug, title=lesson.title) for lesson in lessons],
        online=[OnlineUser(id=uid, display_name=name) for uid, name in online],
    )


@endpoint(
    "POST",
    "/api/classes/{class_id}/join-code",
    summary="Rotate the class's join code (the old one stops working)",
    tag="classes",
    response=JoinCodeOut,
    errors=(404,),
)
async def rotate_join_code(request: Request) -> JoinCodeOut:
    user, access = await auth.class_of_request(request, instructor=True)
    code = await classes.rotate_join_code(access.klass)
    await audit.record("class.join_code_rotated", actor=user.id, class_id=access.class_id)
    publish.join_code_changed(request, access.class_id, code)
    return JoinCodeOut(join_code=code)


@endpoint(
    "GET",
    "/api/classes/{class_id}/roster",
    summary="The class's members (instructors)",
    tag="classes",
    response=RosterOut,
    errors=(404,),
)
async def roster(request: Request) -> RosterOut:
    _, access = await auth.class_of_request(request, instructor=True)
    entries = await classes.roster(access.class_id)
    return RosterOut(
        members=[
            RosterEntryOut(id=e.user.id, display_name=e.user.display_name, role=e.role, joined_at=e.joined_at)
            for e in entries
        ]
    )


@endpoint(
    "DELETE",
    "/api/classes/{class_id}/students/{user_id}",
    summary="Remove a student from the class; their open sockets close within a second",
    tag="classes",
    response=RemovedOut,
    errors=(404,),
)
async def remove_student(request: Request) -> RemovedOut:
    user, access = await auth.class_of_request(request, instructor=True)
    student = parse_id(request.path_params["user_id"], "student")
    closed = await classes.remove_student(access.klass, student)
    await audit.record("class.student_removed", actor=user.id, class_id=access.class_id, target=str(student))
    await publish.roster_changed(request, access.class_id, removed=[student])
    return RemovedOut(removed=student, closed_sockets=closed)


@endpoint(
    "POST",
    "/api/classes/{class_id}/rooms",
    summary="Create a room in the class (instructors): personal (1 student), pair (2–3) or demo",
    tag="classes",
    body=RoomIn,
    response=Created,
    status=201,
    errors=(404,),
)
async def create_room(request: Request, body: RoomIn) -> Created:
    user, access = await auth.class_of_request(request, instructor=True)
    lesson = await _lesson(body.lesson)
    room = await classes.create_room(access.klass, user, body.name, body.kind, body.members, body.lesson)
    await _starter(request, room, lesson)
    await audit.record("room.created", actor=user.id, class_id=access.class_id, target=str(room.id), kind=body.kind)
    await publish.rooms_changed(request, [room.id])
    return Created(id=room.id)


async def _lesson(name: str | None) -> Any:
    if name is None:
        return None
    course, _, slug = name.partition("/")
    lesson = await courses.get_lesson(course, slug)
    if lesson is None:
        raise BadRequest(f"lesson: no lesson {name!r} (expected course/slug)")
    return lesson


async def _starter(request: Request, room: Any, lesson: Any) -> None:
    starter: dict[str, str] = lesson.starter_files if lesson is not None else {}
    if starter:  # a JSON column read with load_json=True: a dict of file name -> text
        # A new room opens on the lesson's starter code (written into its document, so every client sees it).
        await request.app.state.rooms.set_files(str(room.id), starter, replace=True)


@endpoint(
    "PATCH",
    "/api/classes/{class_id}",
    summary="Rename a class, archive it (no more joins; gone from students' lists) or bring it back",
    tag="classes",
    body=ClassPatch,
    response=ClassState,
    errors=(400, 403, 404),
)
async def update_class(request: Request, body: ClassPatch) -> ClassState:
    user, access = await auth.class_of_request(request, instructor=True)
    klass = await classes.update_class(access.klass, name=body.name, archived=body.archived)
    await audit.record("class.updated", actor=user.id, class_id=access.class_id, name=body.name, archived=body.archived)
    publish.class_changed(request, klass)
    return ClassState(id=klass.id, name=klass.name, archived=bool(klass.archived))


async def _instructor_room(request: Request) -> tuple[Any, Any]:
    user = await auth.require_user(request)
    access = await room_access(user, request.path_params["room_id"])
    if not access.is_instructor:
        raise Forbidden("only the class's instructors may change a room")
    return user, access


@endpoint(
    "PATCH",
    "/api/rooms/{room_id}",
    summary="Rename a room, archive it (its code and runs are kept; nobody opens it) or bring it back",
    tag="classes",
    body=RoomPatch,
    response=RoomBrief,
    errors=(400, 403, 404, 409),
)
async def update_room(request: Request, body: RoomPatch) -> RoomBrief:
    user, access = await _instructor_room(request)
    room = await classes.update_room(access.room, name=body.name, archived=body.archived)
    await audit.record(
        "room.updated",
        actor=user.id,
        class_id=access.class_id,
        target=str(room.id),
        name=body.name,
        archived=body.archived,
    )
    await publish.rooms_changed(request, [room.id])
    return RoomBrief(id=room.id, name=room.name, kind=room.kind, lesson=room.lesson, archived=bool(room.archived))


@endpoint(
    "PUT",
    "/api/rooms/{room_id}/members",
    summary="Set a pair room's students (2–3); those who leave have their editor closed",
    tag="classes",
    body=MembersIn,
    response=MembersOut,
    errors=(400, 403, 404, 409),
)
async def set_members(request: Request, body: MembersIn) -> MembersOut:
    user, access = await _instructor_room(request)
    removed = await classes.set_room_members(access.room, body.members)
    await audit.record(
        "room.members",
        actor=user.id,
        class_id=access.class_id,
        target=str(access.room.id),
        members=[str(m) for m in body.members],
    )
    await publish.rooms_changed(request, [access.room.id])
    return MembersOut(members=list(dict.fromkeys(body.members)), removed=removed)


@endpoint(
    "POST",
    "/api/classes/{class_id}/pairs",
    summary="Pair students in new pair rooms (default: everyone unpaired); an odd one out makes a group of three",
    tag="classes",
    body=PairsIn,
    response=PairsOut,
    status=201,
    errors=(400, 403, 404),
)
async def pair_everyone(request: Request, body: PairsIn) -> PairsOut:
    user, access = await auth.class_of_request(request, instructor=True)
    lesson = await _lesson(body.lesson)
    students = body.students
    if students is None:
        students = await classes.unpaired_students(access.class_id)
    students = list(dict.fromkeys(students))
    groups = classes.groups_of(students)
    names = {e.user.id: e.user.display_name for e in await classes.roster(access.class_id)}
    made: list[PairRoom] = []
    for group in groups:
        name = " & ".join(names.get(m, "?") for m in group)[:120]
        room = await classes.create_room(access.klass, user, name, "pair", group, body.lesson)
        await _starter(request, room, lesson)
        made.append(PairRoom(id=room.id, name=room.name, members=group))
    await audit.record("room.paired", actor=user.id, class_id=access.class_id, rooms=[str(r.id) for r in made])
    await publish.rooms_changed(request, [r.id for r in made])
    return PairsOut(rooms=made)


@endpoint(
    "GET",
    "/api/rooms/{room_id}",
    summary="A room: its lesson, members and whether you may write",
    tag="classes",
    response=RoomOut,
    errors=(404,),
)
async def get_room(request: Request) -> RoomOut:
    user = await auth.require_user(request)
    access = await room_access(user, request.path_params["room_id"])
    room = access.room
    lesson = None
    if room.lesson:
        course, _, slug = room.lesson.partition("/")
        found = await courses.get_lesson(course, slug)
        if found is not None:
            lesson = RoomLesson(slug=found.slug, title=found.title, body=found.body)
    members = await classes.room_members(room.id)
    return RoomOut(
        id=room.id,
        name=room.name,
        kind=room.kind,
        class_id=access.class_id,
        lesson=lesson,
        members=[MemberOut(id=u.id, display_name=u.display_name, role=role) for u, role in members],
        can_write=access.can_write,
    )


def routes() -> list[BaseRoute]:
    return [
        create_class,
        get_class,
        update_class,
        rotate_join_code,
        roster,
        remove_student,
        create_room,
        pair_everyone,
        get_room,
        update_room,
        set_members,
    ]
