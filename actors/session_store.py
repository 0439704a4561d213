"""What the session shard needs from persistence: the :class:`SessionStore` contract and its factory.

The shard (:mod:`actors.session`) is the single writer of the control plane and the store is where that state
lives; the database-backed implementation belongs to the edge (``classroom.stores``), which hands it in when it
creates the shards. Nothing here imports the edge, so a shard's process loads only what it was given.

Every method may raise whatever the storage raises (a lost connection...); the shard writes *before* it changes
its cache, so such an error leaves the cache as the store is, and reaches the caller.
"""

from __future__ import annotations

from typing import Any, Protocol

from actors.session_state import ClassSession, Hand

# The audit action that records follow-me: the store reads the current follow back from the latest such entry.
FOLLOW_ACTION = "session.follow"


class SessionStore(Protocol):
    """The control plane's reads and writes. Ids are the string form of UUIDs, already validated by the shard."""

    async def load_class(self, class_id: str) -> ClassSession | None:
        """A fresh session of an existing, unarchived class, or None.

        Filled in: roster (the class owner is always in it, as ``"instructor"``), rooms with their modes and
        members, the open hands oldest first, and the follow of the latest :data:`FOLLOW_ACTION` audit entry
        (None when there is none or its target is None).
        """
        ...

    async def refresh(self, session: ClassSession) -> None:
        """Re-read what other parts of the server write into ``session``: its roster and its rooms."""
        ...

    async def find_hand(self, class_id: str, hand_id: str) -> Hand | None:
        """A hand of this class, open or resolved (to tell "already resolved" from "no such hand"), or None."""
        ...

    async def insert_hand(self, class_id: str, hand: Hand) -> None:
        """Store a newly raised (open) hand."""
        ...

    async def resolve_hand(self, hand: Hand) -> None:
        """Store ``hand.resolved_at`` and ``hand.resolved_by`` (both set) for a stored hand."""
        ...

    async def set_room_mode(self, room_id: str, mode: str) -> None:
        """Store the room's mode (its kind)."""
        ...

    async def audit(self, class_id: str, actor: str, action: str, target: str | None, **detail: Any) -> None:
        """Append one audit entry (one per control-plane change; follow-me is read back from ``target``)."""
        ...


class SessionStoreFactory(Protocol):
    """How a shard in its own process gets its store: the edge passes one as the shard's constructor argument.

    It must be picklable (it crosses into the Ray worker), and small: a URL, not a connection.
    :meth:`open_session_store` is awaited once per shard process, on the shard's event loop, before its first
    use of the store; it binds whatever the store needs in that process (engine, pool).
    """

    async def open_session_store(self) -> SessionStore: ...
