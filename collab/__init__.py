"""Collaborative rooms: Yjs documents served over the standard y-websocket sync + awareness protocol.

A room's document lives in the web process (keystrokes never go through Ray); a stock y-websocket
``WebsocketProvider`` works unchanged. Its files are a ``Y.Map`` named ``files`` of name -> ``Y.Text``
(``main.py`` exists from the start). This library imports neither Ray nor Starlette: transports plug in through
:class:`Channel`, storage through :class:`DocumentStore`, replica fan-out through :class:`ReplicaBus`.

The public face::

    async with RoomManager(store, bus=RedisBus(url) or None, limits=Limits(...)) as manager:
        await manager.serve(channel, room_id, Member(user_id, name, can_write))   # one connection
        await manager.files(room_id)                       # {"main.py": "..."}
        await manager.set_files(room_id, {"main.py": "..."}, replace=False)
        await manager.edit(room_id, lambda doc: ...)       # any change, one transaction
        await manager.state_vector(room_id)                # bytes, store it with a run
        unsubscribe = await manager.subscribe(room_id, lambda update: ...)
        await manager.rebuild(room_id, state_vector=sv)    # files as they were (or at=datetime)

Routing between several web processes is described in :mod:`collab.bus`.
"""

from collab.bus import LocalBus, LocalHub, RedisBus, ReplicaBus
from collab.connection import Channel, ChannelClosed, Member
from collab.errors import (
    AccessRevoked,
    CollabError,
    MessageTooBig,
    ProtocolError,
    RateLimited,
    RoomLimitReached,
    ShuttingDown,
    SlowConsumer,
    UnsupportedData,
)
from collab.files import DEFAULT_FILE, FILES, read_files, write_files
from collab.limits import Limits
from collab.manager import RoomManager
from collab.store import DocumentStore, LogEntry, MemoryStore, StoredDocument

__all__ = [
    "DEFAULT_FILE",
    "FILES",
    "AccessRevoked",
    "Channel",
    "ChannelClosed",
    "CollabError",
    "DocumentStore",
    "Limits",
    "LocalBus",
    "LocalHub",
    "LogEntry",
    "Member",
    "MemoryStore",
    "MessageTooBig",
    "ProtocolError",
    "RateLimited",
    "RedisBus",
    "ReplicaBus",
    "RoomLimitReached",
    "RoomManager",
    "ShuttingDown",
    "SlowConsumer",
    "StoredDocument",
    "UnsupportedData",
    "read_files",
    "write_files",
]
