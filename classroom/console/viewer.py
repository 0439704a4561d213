"""What one open page may receive: the filter between the class's events and a page's socket.

A :class:`Viewer` is one page of one user. Instructors (and admins) receive every event of the class (grid tiles
only with the grid open). A student receives: presence, follow-me and class changes; the rooms they may open
(demo rooms and their own; a room that stops being theirs arrives as ``{"id", "visible": false}``); their own
hand; the outcomes of runs in rooms they may open and of their own runs. Nothing else: never another room's
code, another student's hand message, the roster or the join code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from classroom.events import Envelope

INSTRUCTOR_ONLY = frozenset({"roster", "tile", "stuck", "join_code"})


def may_open(user_id: str, room: dict[str, Any]) -> bool:
    """Whether a student may open this room (see :mod:`classroom.access`): demo rooms and their own."""
    if room.get("archived"):
        return False
    return room.get("mode") == "demo" or user_id in (room.get("members") or {})


@dataclass
class Viewer:
    user_id: str
    instructor: bool
    grid: bool = False
    rooms: dict[str, dict[str, Any]] = field(default_factory=dict)  # what this page knows of each room

    def visible(self, room_id: str | None) -> bool:
        if room_id is None:
            return False
        room = self.rooms.get(room_id)
        return room is not None and (self.instructor or may_open(self.user_id, room))

    def admit(self, envelope: Envelope) -> dict[str, Any] | None:
        """The event as this page may see it, or None."""
        event = envelope.event
        kind = event.get("type")
        if kind == "room":
            return self._room(event)
        if self.instructor:
            return None if kind == "tile" and not self.grid else event
        if kind in INSTRUCTOR_ONLY:
            return None
        audience = envelope.audience
        if audience.everyone or self.user_id in audience.users or self.visible(audience.room):
            return event
        return None

    def _room(self, event: dict[str, Any]) -> dict[str, Any] | None:
        room = event["room"]
        rid = str(room["id"])
        was = self.visible(rid)
        self.rooms[rid] = {**self.rooms.get(rid, {}), **room}
        if self.instructor or self.visible(rid):
            return event
        if was:
            return {"type": "room", "room": {"id": rid, "visible": False}}
        return None
