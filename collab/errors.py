"""The collab library's typed errors. Each names the WebSocket close code a transport should use.

These are *our* failures or a peer's protocol violations; the edge maps them to close codes in one place
(``classroom.rooms.routes``), the library only carries the code so that a transport adapter need not know the tree.
"""

from __future__ import annotations


class CollabError(Exception):
    """Base of the library's errors; ``close_code`` is the WebSocket code a connection is closed with."""

    close_code = 1011

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ProtocolError(CollabError):
    """A malformed or truncated y-protocol message (1007: invalid payload data)."""

    close_code = 1007


class UnsupportedData(CollabError):
    """A text frame, or a message type this server does not speak (1003)."""

    close_code = 1003


class MessageTooBig(CollabError):
    """A frame larger than the configured limit (1009)."""

    close_code = 1009


class RateLimited(CollabError):
    """The connection sent more messages than its rate allows (4429, as the edge's RateLimited)."""

    close_code = 4429


class SlowConsumer(CollabError):
    """The peer does not read fast enough: its outgoing queue outgrew the limit (1013: try again later)."""

    close_code = 1013


class RoomLimitReached(CollabError):
    """Every in-memory room slot is taken by a room with live connections (1013: try again later)."""

    close_code = 1013


class ShuttingDown(CollabError):
    """The manager is closing (1001: going away); clients reconnect to another replica or after restart."""

    close_code = 1001


class AccessRevoked(CollabError):
    """The member may no longer open the room (removed from it, or it was archived)."""

    close_code = 4403
