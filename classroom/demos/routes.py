"""The fork API: preview and fork a demo into your room (students), fork it for everyone (instructors).

Access follows :func:`classroom.auth.access.room_access` (a room the actor may not read is 404). Forking into your own
room is a student's action (instructors have no personal room: 403, they fork for everyone); forking for
everyone is the class's instructors' (students: 403). Every fork is audited (``demo.fork``, ``demo.fork_all``)
with the demo's state vector.
"""

from __future__ import annotations

import base64
import uuid

from starlette.requests import Request
from starlette.routing import BaseRoute

from classroom import audit
from classroom.api import endpoint
from classroom.auth.access import room_access
from classroom.auth.service import client_ip, require_user
from classroom.demos import service
from classroom.demos.schemas import ForkAllIn, ForkAllOut, ForkIn, ForkOut, ForkPreviewOut
from classroom.errors import Forbidden


def _rooms(request: Request) -> object:
    return request.app.state.rooms


@endpoint(
    "GET",
    "/api/rooms/{room_id}/fork",
    summary="What forking this demo would copy into your room, and which file names are already taken there",
    tag="demos",
    response=ForkPreviewOut,
    errors=(400, 403, 404),
)
async def fork_preview(request: Request) -> ForkPreviewOut:
    user = await require_user(request)
    access = await room_access(user, request.path_params["room_id"])
    if access.is_instructor:
        raise Forbidden("instructors have no personal room: fork for everyone instead")
    plan = await service.plan(_rooms(request), access, user.id)
    return ForkPreviewOut(
        source_room_id=access.room.id,
        target_room_id=None if plan.target is None else plan.target.id,
        target_room_name=None if plan.target is None else plan.target.name,
        files=sorted(plan.files),
        clashes=plan.clashes,
    )


@endpoint(
    "POST",
    "/api/rooms/{room_id}/fork",
    summary="Copy the demo's files as they are now into your personal room (409 when names clash in mode add)",
    tag="demos",
    body=ForkIn,
    response=ForkOut,
    status=201,
    errors=(400, 403, 404, 409),
)
async def fork(request: Request, body: ForkIn) -> ForkOut:
    user = await require_user(request)
    access = await room_access(user, request.path_params["room_id"])
    if access.is_instructor:
        raise Forbidden("instructors have no personal room: fork for everyone instead")
    done = await service.fork(_rooms(request), access, user, user, body.mode)
    vector = base64.b64encode(done.state_vector).decode()
    await audit.record(
        "demo.fork",
        actor=user.id,
        class_id=access.class_id,
        target=str(access.room.id),
        ip=client_ip(request),
        into=str(done.target.id),
        mode=done.mode,
        files=done.names,
        state_vector=vector,
    )
    return ForkOut(
        id=done.fork_id,
        source_room_id=access.room.id,
        target_room_id=done.target.id,
        mode=done.mode,
        files=done.names,
        state_vector=vector,
    )


@endpoint(
    "POST",
    "/api/rooms/{room_id}/fork-all",
    summary="Copy the demo's files into every student's personal room (the class's instructors)",
    tag="demos",
    body=ForkAllIn,
    response=ForkAllOut,
    errors=(400, 403, 404),
)
async def fork_all(request: Request, body: ForkAllIn) -> ForkAllOut:
    user = await require_user(request)
    access = await room_access(user, request.path_params["room_id"])
    if not access.is_instructor:
        raise Forbidden("only the class's instructors may fork a demo for everyone")
    service.require_demo(access)
    rooms: list[uuid.UUID] = []
    vector = ""
    for student in await service.students_of(access.class_id):
        done = await service.fork(_rooms(request), access, student, user, body.mode)
        rooms.append(done.target.id)
        vector = base64.b64encode(done.state_vector).decode()
    await audit.record(
        "demo.fork_all",
        actor=user.id,
        class_id=access.class_id,
        target=str(access.room.id),
        ip=client_ip(request),
        mode=body.mode,
        rooms=[str(r) for r in rooms],
        state_vector=vector,
    )
    feed = getattr(request.app.state, "room_feed", None)
    if feed is not None:  # the demo's open pages offer each student their copy
        feed.publish(str(access.room.id), {"type": "forked", "by": user.display_name, "count": len(rooms)})
    return ForkAllOut(forked=len(rooms), rooms=rooms)


def routes() -> list[BaseRoute]:
    return [fork_preview, fork, fork_all]
