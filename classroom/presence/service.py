"""Open sockets per user, so that removing a student closes their connections, and who is online per class.

WebSocket endpoints (collab, runs) call :func:`register` right after accepting and the returned function when
the socket ends::

    unregister = presence.register(user.id, close=lambda: websocket.close(4403), class_id=room.class_id)
    try: ...
    finally: unregister()

:func:`close_user` (called on removal) runs every close callback of the user concurrently, bounded by
:data:`CLOSE_SECONDS`, so the sockets are closed within a second. The registry is per process; with Redis,
:mod:`classroom.presence.fanout` carries a removal to the other replicas.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

CLOSE_SECONDS = 0.8

CloseCallback = Callable[[], Awaitable[None]]


@dataclass(eq=False)
class _Entry:
    user_id: uuid.UUID
    close: CloseCallback
    class_id: uuid.UUID | None
    display_name: str = ""
    key: int = field(default=0)


_entries: dict[int, _Entry] = {}
_counter = 0
# Called with a class id when the set of people online in it may have changed on this process (the class
# channel turns that into presence events); watchers must not block.
_watchers: list[Callable[[uuid.UUID], None]] = []
# Called with a user id when the user is removed from a class (or all), on every replica that hears of it: caches
# of what the user may do forget them (classroom.auth.service).
_forgetters: list[Callable[[uuid.UUID], None]] = []


def on_removal(callback: Callable[[uuid.UUID], None]) -> None:
    """Call ``callback(user_id)`` first thing in every :func:`close_user` (a removal, here or relayed)."""
    if callback not in _forgetters:
        _forgetters.append(callback)


def watch(callback: Callable[[uuid.UUID], None]) -> Callable[[], None]:
    """Call ``callback(class_id)`` whenever a socket of that class registers or goes; returns the unwatcher."""
    _watchers.append(callback)

    def unwatch() -> None:
        if callback in _watchers:
            _watchers.remove(callback)

    return unwatch


def _changed(class_id: uuid.UUID | None) -> None:
    if class_id is None:
        return
    for callback in list(_watchers):
        try:
            callback(class_id)
        except Exception:  # presence bookkeeping must never break a socket's life cycle
            log.exception("presence watcher failed")


def register(
    user_id: uuid.UUID, close: CloseCallback, *, class_id: uuid.UUID | None = None, display_name: str = ""
) -> Callable[[], None]:
    """Record an open socket of ``user_id``; return the function that forgets it (idempotent)."""
    global _counter
    _counter += 1
    key = _counter
    _entries[key] = _Entry(uuid.UUID(str(user_id)), close, class_id, display_name, key)
    _changed(class_id)

    def unregister() -> None:
        if _entries.pop(key, None) is not None:
            _changed(class_id)

    return unregister


async def close_user(user_id: uuid.UUID, *, class_id: uuid.UUID | None = None) -> int:
    """Close the user's open sockets (only those of ``class_id`` when given); return how many were closed."""
    wanted = uuid.UUID(str(user_id))
    for forget in list(_forgetters):
        forget(wanted)
    targets = [
        e
        for e in list(_entries.values())
        if e.user_id == wanted and (class_id is None or e.class_id in (None, class_id))
    ]
    for entry in targets:
        _entries.pop(entry.key, None)
    for changed in {e.class_id for e in targets}:
        _changed(changed)

    async def one(entry: _Entry) -> None:
        try:
            await asyncio.wait_for(entry.close(), timeout=CLOSE_SECONDS)
        except Exception:  # a socket that is already gone must not stop the others from closing
            log.debug("closing a socket of %s failed", user_id, exc_info=True)

    await asyncio.gather(*(one(e) for e in targets))
    return len(targets)


def online(class_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """Distinct ``(user_id, display_name)`` with an open socket registered for ``class_id``."""
    seen: dict[uuid.UUID, str] = {}
    for entry in _entries.values():
        if entry.class_id == class_id:
            seen.setdefault(entry.user_id, entry.display_name)
    return list(seen.items())


def entries() -> list[_Entry]:
    """Every open socket registered in this process."""
    return list(_entries.values())


def count(user_id: uuid.UUID) -> int:
    return sum(1 for e in _entries.values() if e.user_id == user_id)
