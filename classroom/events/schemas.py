"""The shapes of class events (server -> page) and of the frames a page may send on the class channel.

Every event is a JSON object with a ``type``. Server -> page:

- ``snapshot``: the whole state this user may see (sent on every (re)connect; see :mod:`classroom.console`).
- ``presence``: ``online`` = the people with an open page or socket in the class.
- ``room``: a room created or changed (name, mode, members, lesson, ``archived``).
- ``roster``: ``members`` of the class (instructors only); ``removed`` = the user ids just removed.
- ``hand``: a hand raised or resolved (instructors: every hand; a student: their own).
- ``follow``: ``room_id`` the class follows now (null: follow-me ended) and ``by``.
- ``run``: a finished run's outcome (verdict, error line, who, room); students: runs of rooms they may open.
- ``tile``: the code around a room's last edit (instructors with the grid open only), at most 1/s per room.
- ``stuck``: the analytics actor's stuck students (instructors only).
- ``class``: the class itself changed (renamed, join code rotated (instructors), archived).
- ``pong``: the answer to a ``ping``.

Page -> server: ``{"type": "ping"}`` only (anything else closes the socket with 4400).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

EVENT_TYPES = ("presence", "room", "roster", "hand", "follow", "run", "tile", "stuck", "class")
MAX_FRAME_BYTES = 1024


class ClientFrame(BaseModel):
    """What a page may send: a keep-alive ping."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["ping"]
