"""The control plane over HTTP: raise-hand queue, room modes, follow-me and the class-session view; analytics.

Every handler authenticates (:func:`classroom.auth.service.require_user`), checks the object with
:mod:`classroom.auth.access` (404 for what the user may not see, 403 for what they see but may not change), then asks
the class's session shard (:mod:`actors.session_client`) — the single writer of that state. The shard's errors
map here: not found → 404, conflict → 409, invalid → 400, unreachable → 503.

:class:`~classroom.sessions.service.ControlPlane` (the app component, added by :func:`install`) holds the way
to the shards: Ray actors, or one in-process shard when the server runs without Ray.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from actors.session_state import SessionConflict, SessionError, SessionInvalid, SessionNotFound
from classroom.api import endpoint
from classroom.auth import service as auth
from classroom.auth.access import room_access
from classroom.errors import BadRequest, ClassroomError, Conflict, Forbidden, NotFound, Unavailable
from classroom.events import Audience, ClassEvents
from classroom.events.service import EVERYONE
from classroom.sessions.schemas import (
    AnalyticsOut,
    ClassSessionOut,
    FollowIn,
    HandIn,
    HandOut,
    HandsOut,
    ModeIn,
    SessionRoom,
)
from classroom.sessions.service import ControlPlane


def _plane(request: Request) -> ControlPlane:
    found: ControlPlane = request.app.state.control_plane
    return found


async def call(request: Request, class_id: object, method: str, *args: Any) -> Any:
    """Run a shard method for the class, mapping the control plane's errors to the edge's, and fan out the class
    events the change made (the shard is the single writer; this edge is where its events leave for the pages)."""
    control = _plane(request)
    if control.plane is None:
        raise Unavailable(control.error or "the class session service is not running")
    try:
        answer = await control.plane.call(str(class_id), "invoke", method, *args)
    except SessionError as exc:
        raise _edge_error(exc) from None
    bus: ClassEvents | None = getattr(request.app.state, "events", None)
    if bus is not None:
        for event in answer["events"]:
            bus.publish(class_id, event, audience_of(event))
    return answer["result"]


def audience_of(event: dict[str, Any]) -> Audience:
    """Who may see a shard event: a hand its owner and the instructors; rooms and follow-me the whole class (each
    page's socket keeps only the rooms its user may open)."""
    if event["type"] == "hand":
        return Audience(users=(str(event["hand"]["user_id"]),))
    return EVERYONE


def _edge_error(exc: SessionError) -> ClassroomError:
    if isinstance(exc, SessionNotFound):
        return NotFound(exc.detail)
    if isinstance(exc, SessionConflict):
        return Conflict(exc.detail)
    if isinstance(exc, SessionInvalid):
        return BadRequest(exc.detail)
    return Unavailable(exc.detail)


@endpoint(
    "POST",
    "/api/classes/{class_id}/hand",
    summary="Raise your hand (students); 200 if it is already up",
    tag="sessions",
    body=HandIn,
    response=HandOut,
    status=201,
    errors=(400, 403, 404, 503),
)
async def raise_hand(request: Request, body: HandIn) -> Response:
    user, access = await auth.class_of_request(request)
    if access.role != "student":
        raise Forbidden("only students raise hands")
    if body.room_id is not None:
        room = await room_access(user, body.room_id)
        if room.class_id != access.class_id:
            raise NotFound("no such room in this class")
    found = await call(
        request,
        access.class_id,
        "raise_hand",
        str(user.id),
        None if body.room_id is None else str(body.room_id),
        body.note,
        body.file,
        body.line,
    )
    hand = HandOut.model_validate(found["hand"])
    return JSONResponse(hand.model_dump(mode="json"), status_code=201 if found["created"] else 200)


@endpoint(
    "DELETE",
    "/api/classes/{class_id}/hand",
    summary="Lower your own hand",
    tag="sessions",
    response=HandOut,
    errors=(404, 503),
)
async def lower_hand(request: Request) -> HandOut:
    user, access = await auth.class_of_request(request)
    return HandOut.model_validate(await call(request, access.class_id, "lower_hand", str(user.id)))


@endpoint(
    "GET",
    "/api/classes/{class_id}/hands",
    summary="The raised hands, oldest first (instructors)",
    tag="sessions",
    response=HandsOut,
    errors=(403, 404, 503),
)
async def list_hands(request: Request) -> HandsOut:
    _, access = await auth.class_of_request(request, instructor=True)
    view = await call(request, access.class_id, "view")
    return HandsOut(hands=[HandOut.model_validate(h) for h in view["hands"]])


@endpoint(
    "POST",
    "/api/classes/{class_id}/hands/{hand_id}/resolve",
    summary="Answer a raised hand (instructors)",
    tag="sessions",
    response=HandOut,
    errors=(403, 404, 409, 503),
)
async def resolve_hand(request: Request) -> HandOut:
    user, access = await auth.class_of_request(request, instructor=True)
    hand = await call(request, access.class_id, "resolve_hand", request.path_params["hand_id"], str(user.id))
    return HandOut.model_validate(hand)


@endpoint(
    "PUT",
    "/api/rooms/{room_id}/mode",
    summary="Switch a room between pair and demo (instructors)",
    tag="sessions",
    body=ModeIn,
    response=SessionRoom,
    errors=(400, 403, 404, 409, 503),
)
async def set_mode(request: Request, body: ModeIn) -> SessionRoom:
    user = await auth.require_user(request)
    access = await room_access(user, request.path_params["room_id"])
    if not access.is_instructor:
        raise Forbidden("only the class's instructors may change a room's mode")
    if access.room.archived:
        raise Conflict("this room is archived")
    room = await call(request, access.class_id, "set_mode", str(access.room.id), body.mode, str(user.id))
    return SessionRoom.model_validate(room)


@endpoint(
    "POST",
    "/api/classes/{class_id}/follow",
    summary="Make the class follow a demo room, or stop (null)",
    tag="sessions",
    body=FollowIn,
    response=ClassSessionOut,
    errors=(400, 403, 404, 409, 503),
)
async def set_follow(request: Request, body: FollowIn) -> ClassSessionOut:
    user, access = await auth.class_of_request(request, instructor=True)
    room = None if body.room_id is None else str(body.room_id)
    view = await call(request, access.class_id, "set_follow", room, str(user.id))
    return _session_out(view, str(user.id), instructor=True)


@endpoint(
    "GET",
    "/api/classes/{class_id}/session",
    summary="The live class: roster, rooms you may open with their modes, hand queue, followed room",
    tag="sessions",
    response=ClassSessionOut,
    errors=(404, 503),
)
async def get_session(request: Request) -> ClassSessionOut:
    user, access = await auth.class_of_request(request)
    view = await call(request, access.class_id, "view")
    return _session_out(view, str(user.id), instructor=access.is_instructor)


def _session_out(view: dict[str, Any], user_id: str, *, instructor: bool) -> ClassSessionOut:
    # A student sees the rooms access.room_access would let them open: demo rooms and their own.
    rooms = [r for r in view["rooms"] if instructor or r["mode"] == "demo" or user_id in r["members"]]
    mine = next((h for h in view["hands"] if h["user_id"] == user_id), None)
    return ClassSessionOut(
        class_id=view["class_id"],
        name=view["name"],
        version=view["version"],
        roster=view["roster"],
        rooms=[SessionRoom.model_validate(r) for r in rooms],
        hand_queue=len(view["hands"]),
        my_hand=None if mine is None else HandOut.model_validate(mine),
        followed_room=view["followed_room"],
    )


@endpoint(
    "GET",
    "/api/classes/{class_id}/analytics",
    summary="The class's run analytics snapshot (instructors)",
    tag="analytics",
    response=AnalyticsOut,
    errors=(403, 404, 503),
)
async def get_analytics(request: Request) -> AnalyticsOut:
    _, access = await auth.class_of_request(request, instructor=True)
    return AnalyticsOut.of(await _plane(request).snapshot(str(access.class_id)))


def routes() -> list[BaseRoute]:
    return [raise_hand, lower_hand, list_hands, resolve_hand, set_mode, set_follow, get_session, get_analytics]
