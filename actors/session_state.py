"""The in-memory state of one live class session, and the typed errors of the control plane.

A :class:`ClassSession` is a cache of database rows (the database is the truth; a restart reloads it) plus a
``version`` that grows with every change, so clients can poll ``GET /api/classes/{id}/session`` cheaply and
re-render only when it moved. Everything here is plain data: it crosses Ray as the dicts of :meth:`view`.

Errors cross Ray pickled (their only argument is the detail) and the edge maps them: :class:`SessionNotFound`
→ 404, :class:`SessionConflict` → 409, :class:`SessionInvalid` → 400, :class:`SessionUnavailable` → 503.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MODES = ("pair", "demo")  # the modes an instructor may set; a room's stored kind may also be "personal"


class SessionError(Exception):
    """Base of the control plane's errors; ``detail`` is one line for the user."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SessionNotFound(SessionError):
    """The class, room or hand does not exist (or is not part of this class)."""


class SessionConflict(SessionError):
    """The request is well-formed but the state forbids it (an archived room, a hand already resolved...)."""


class SessionInvalid(SessionError):
    """A malformed argument (an unknown mode, an over-long note)."""


class SessionUnavailable(SessionError):
    """The control plane cannot be reached (Ray down, the shard could not start)."""


@dataclass
class Member:
    user_id: str
    display_name: str
    role: str  # "instructor" or "student"


@dataclass
class RoomInfo:
    id: str
    name: str
    mode: str  # the room's kind: personal, pair or demo
    lesson: str | None
    members: dict[str, str] = field(default_factory=dict)  # user_id -> writer | viewer

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "mode": self.mode,
            "lesson": self.lesson,
            "members": dict(self.members),
        }


@dataclass
class Hand:
    id: str
    user_id: str
    room_id: str | None
    note: str
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    file: str | None = None  # where the student's cursor was: the file and 1-based line
    line: int | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "room_id": self.room_id,
            "note": self.note,
            "file": self.file,
            "line": self.line,
            "created_at": self.created_at.isoformat(),
            "resolved_at": None if self.resolved_at is None else self.resolved_at.isoformat(),
            "resolved_by": self.resolved_by,
        }


@dataclass
class Follow:
    room_id: str
    by: str
    at: datetime


@dataclass
class ClassSession:
    """One class's control plane. Mutated only by its shard, under the class's lock (the single writer)."""

    class_id: str
    name: str
    owner_id: str
    roster: dict[str, Member] = field(default_factory=dict)
    rooms: dict[str, RoomInfo] = field(default_factory=dict)
    hands: list[Hand] = field(default_factory=list)  # open hands, oldest first: the queue
    follow: Follow | None = None
    # Nanoseconds at load, then +1 per change: keeps growing across reloads, so a poller never sees it repeat.
    version: int = field(default_factory=time.time_ns)
    refreshed_at: float = 0.0  # monotonic time roster and rooms were last read
    last_used: float = 0.0

    def changed(self) -> None:
        self.version += 1

    def hand_of(self, user_id: str) -> Hand | None:
        return next((h for h in self.hands if h.user_id == user_id), None)

    def view(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "name": self.name,
            "version": self.version,
            "roster": [
                {"user_id": m.user_id, "display_name": m.display_name, "role": m.role}
                for m in sorted(self.roster.values(), key=lambda m: (m.role != "instructor", m.display_name.lower()))
            ],
            "rooms": [r.view() for r in sorted(self.rooms.values(), key=lambda r: r.name.lower())],
            # A student removed from the class keeps their row, but their hand leaves the visible queue.
            "hands": [h.view() for h in self.hands if h.user_id in self.roster],
            "followed_room": None if self.follow is None else self.follow.room_id,
            "followed_by": None if self.follow is None else self.follow.by,
        }
