"""The session shard: the single writer of the control plane (roster, rooms and modes, hands, follow-me).

Sharding. A Ray actor is a process of ~50 MiB that takes ~1 s to start, so an actor *per class* caps a node
at a few dozen live classes. Instead ``SESSION_SHARDS`` named shard actors (``session-0`` ...) each host many
class sessions as plain objects; a class always maps to the same shard (:func:`shard_of`: a stable hash of its
id, the same in every web replica). Measured on the 2-core development VM with
``tests/actors/measure_session_capacity.py``: a bare Ray actor has 52 MiB of its own memory (USS; 93 MiB RSS
with Ray's shared libraries) and starts in 1.6 s; an empty shard 66 MiB USS (it imports piccolo and the
schema), started in 2.0 s; each loaded class session (30 students, 10 rooms) adds ~23 KiB, loading at ~50
classes/s from SQLite. So the 4 default shards cost ~265 MiB per node and hold thousands of live classes
(10 000 classes ≈ +225 MiB); one actor per class would need ~66 MiB per class.

Contract of every method: arguments and results are plain ``str``/``dict`` values (they cross Ray); a class,
room or hand that does not exist or is not part of the class raises :class:`SessionNotFound`, a state that
forbids the change :class:`SessionConflict`, a malformed argument :class:`SessionInvalid`. Who may call what
is the edge's business (``classroom/sessions.py``); the shard guards consistency, not permission.

Lifecycle. A class session loads from the database on first use and is evicted after ``idle_seconds`` without
a call (:meth:`SessionShard.reap`); the Ray actor (:class:`SessionShardActor`) reaps on a timer and exits when it
has hosted nothing for ``idle_seconds``. A killed or crashed shard loses nothing: the next call recreates it by
name and the session reloads. Writes go to the database *before* the cached state changes, so a failed write
leaves the cache as the database is.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from actors.session_state import (
    MODES,
    ClassSession,
    Follow,
    Hand,
    SessionConflict,
    SessionInvalid,
    SessionNotFound,
)
from actors.session_store import FOLLOW_ACTION, SessionStore

log = logging.getLogger(__name__)

SESSION_SHARDS = 4
IDLE_SECONDS = 600.0
REFRESH_SECONDS = 5.0  # roster and rooms are written elsewhere (joins, room creation): re-read at most this often
MAX_NOTE = 500
# What invoke() may run: the shard's public operations (never its internals).
INVOKABLE = ("view", "refresh", "raise_hand", "lower_hand", "resolve_hand", "set_mode", "set_follow")


# The events of the call in progress (see SessionShard.invoke): a context variable, so concurrent calls of one
# shard (each its own task, in Ray as in-process) collect their own.
_events: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar("session_events", default=None)


def _emit(event: dict[str, Any]) -> None:
    found = _events.get()
    if found is not None:
        found.append(event)


def shard_of(class_id: str, shards: int = SESSION_SHARDS) -> int:
    """The shard hosting ``class_id``: a hash that is stable across processes (unlike ``hash()``)."""
    return int.from_bytes(hashlib.sha256(str(class_id).encode()).digest()[:8], "big") % shards


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid(value: str | None, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise SessionNotFound(f"no such {what}") from None


class SessionShard:
    """Hosts the live sessions of the classes that hash to it. One instance per shard; plain (no Ray).

    ``store`` is where the state lives (:class:`~actors.session_store.SessionStore`); the shard is its only writer.
    """

    def __init__(
        self, store: SessionStore, *, idle_seconds: float = IDLE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.sessions: dict[str, ClassSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.last_call = clock()

    async def _session(self, class_id: str, *, fresh: bool = False) -> ClassSession:
        """The loaded session (loading it if needed). Call with the class's lock held."""
        session = self.sessions.get(class_id)
        if session is None:
            session = await self.store.load_class(class_id)
            if session is None:
                raise SessionNotFound("no such class")
            session.refreshed_at = self.clock()
            self.sessions[class_id] = session
            log.info("session %s loaded (%d hosted)", class_id, len(self.sessions))
        elif fresh or self.clock() - session.refreshed_at >= REFRESH_SECONDS:
            before = (session.roster, session.rooms)
            await self.store.refresh(session)
            session.refreshed_at = self.clock()
            if (session.roster, session.rooms) != before:
                session.changed()  # someone joined, left or got a room: pollers must re-render
        session.last_used = self.clock()
        return session

    def _lock(self, class_id: str) -> asyncio.Lock:
        self.last_call = self.clock()
        return self._locks.setdefault(class_id, asyncio.Lock())

    async def invoke(self, class_id: str, method: str, *args: Any) -> dict[str, Any]:
        """Run ``method(class_id, *args)`` and return ``{"result": ..., "events": [...]}``: what changed, as class
        events (``hand``, ``room``, ``follow``) for the edge to fan out. A call that changes nothing has none."""
        if method not in INVOKABLE:
            raise SessionInvalid(f"method: expected one of {', '.join(INVOKABLE)}")
        events: list[dict[str, Any]] = []
        token = _events.set(events)
        try:
            result = await getattr(self, method)(class_id, *args)
        finally:
            _events.reset(token)
        return {"result": result, "events": events}

    async def view(self, class_id: str) -> dict[str, Any]:
        """Roster, rooms with modes and members, the open hands (oldest first), the followed room, ``version``."""
        cid = _uuid(class_id, "class")
        async with self._lock(cid):
            return (await self._session(cid)).view()

    async def refresh(self, class_id: str) -> None:
        """Re-read roster and rooms now (call after enrolling, removing or creating rooms to skip the delay)."""
        cid = _uuid(class_id, "class")
        async with self._lock(cid):
            if cid in self.sessions:
                await self._session(cid, fresh=True)

    async def raise_hand(
        self,
        class_id: str,
        user_id: str,
        room_id: str | None,
        note: str,
        file: str | None = None,
        line: int | None = None,
    ) -> dict[str, Any]:
        """Queue the user's hand (with where their cursor is: ``file`` and 1-based ``line``, both optional);
        ``{"hand": ..., "created": False}`` when their hand is already up."""
        cid, uid = _uuid(class_id, "class"), _uuid(user_id, "user")
        if len(note) > MAX_NOTE:
            raise SessionInvalid(f"note: expected at most {MAX_NOTE} characters")
        if file is not None and not 0 < len(file) <= 255:
            raise SessionInvalid("file: expected 1-255 characters")
        if line is not None and not 0 < line <= 1_000_000:
            raise SessionInvalid("line: expected a line number from 1")
        async with self._lock(cid):
            session = await self._session(cid)
            if uid not in session.roster or (room_id is not None and room_id not in session.rooms):
                session = await self._session(cid, fresh=True)  # joined or created a moment ago?
            if uid not in session.roster:
                raise SessionNotFound("no such class")
            rid = None if room_id is None else _uuid(room_id, "room")
            if rid is not None and rid not in session.rooms:
                raise SessionNotFound("no such room in this class")
            existing = session.hand_of(uid)
            if existing is not None:
                return {"hand": existing.view(), "created": False}
            hand = Hand(str(uuid.uuid4()), uid, rid, note.strip(), _now(), file=file, line=line)
            await self.store.insert_hand(cid, hand)
            session.hands.append(hand)
            session.changed()
            _emit({"type": "hand", "hand": hand.view()})
            return {"hand": hand.view(), "created": True}

    async def lower_hand(self, class_id: str, user_id: str) -> dict[str, Any]:
        """Take the user's own hand down (resolved by themselves)."""
        cid, uid = _uuid(class_id, "class"), _uuid(user_id, "user")
        async with self._lock(cid):
            session = await self._session(cid)
            hand = session.hand_of(uid)
            if hand is None:
                raise SessionNotFound("your hand is not raised")
            return await self._resolve(session, hand, uid)

    async def resolve_hand(self, class_id: str, hand_id: str, by: str) -> dict[str, Any]:
        """An instructor answers a hand: it leaves the queue. Resolving it twice is a conflict."""
        cid, hid, who = _uuid(class_id, "class"), _uuid(hand_id, "hand"), _uuid(by, "user")
        async with self._lock(cid):
            session = await self._session(cid)
            hand = next((h for h in session.hands if h.id == hid), None)
            if hand is None:
                stored = await self.store.find_hand(cid, hid)
                if stored is None:
                    raise SessionNotFound("no such hand in this class")
                raise SessionConflict("this hand was already resolved")
            return await self._resolve(session, hand, who)

    async def _resolve(self, session: ClassSession, hand: Hand, by: str) -> dict[str, Any]:
        hand.resolved_at, hand.resolved_by = _now(), by
        try:
            await self.store.resolve_hand(hand)
        except BaseException:
            hand.resolved_at = hand.resolved_by = None
            raise
        session.hands.remove(hand)
        session.changed()
        _emit({"type": "hand", "hand": hand.view()})
        return hand.view()

    async def set_mode(self, class_id: str, room_id: str, mode: str, by: str) -> dict[str, Any]:
        """Switch a room between ``pair`` and ``demo``; switching the followed room away from demo stops follow-me."""
        cid, rid, who = _uuid(class_id, "class"), _uuid(room_id, "room"), _uuid(by, "user")
        if mode not in MODES:
            raise SessionInvalid(f"mode: expected one of {', '.join(MODES)}")
        async with self._lock(cid):
            session = await self._session(cid)
            room = session.rooms.get(rid) or (await self._session(cid, fresh=True)).rooms.get(rid)
            if room is None:
                raise SessionNotFound("no such room in this class")
            if room.mode != mode:
                await self.store.set_room_mode(rid, mode)
                await self.store.audit(cid, who, "session.mode", rid, mode=mode, was=room.mode)
                room.mode = mode
                if mode != "demo" and session.follow is not None and session.follow.room_id == rid:
                    await self.store.audit(cid, who, FOLLOW_ACTION, None, reason="room left demo mode")
                    session.follow = None
                    _emit({"type": "follow", "room_id": None, "by": who})
                session.changed()
                _emit({"type": "room", "room": room.view()})
            return room.view()

    async def set_follow(self, class_id: str, room_id: str | None, by: str) -> dict[str, Any]:
        """Make every student follow ``room_id`` (a demo room of the class), or stop with None. Returns the view."""
        cid, who = _uuid(class_id, "class"), _uuid(by, "user")
        rid = None if room_id is None else _uuid(room_id, "room")
        async with self._lock(cid):
            session = await self._session(cid)
            if rid is not None:
                room = session.rooms.get(rid) or (await self._session(cid, fresh=True)).rooms.get(rid)
                if room is None:
                    raise SessionNotFound("no such room in this class")
                if room.mode != "demo":
                    raise SessionConflict("only a demo room can be followed: switch the room to demo mode first")
            current = None if session.follow is None else session.follow.room_id
            if rid != current:
                await self.store.audit(cid, who, FOLLOW_ACTION, rid)
                session.follow = None if rid is None else Follow(rid, who, _now())
                session.changed()
                _emit({"type": "follow", "room_id": rid, "by": who})
            return session.view()

    def reap(self) -> list[str]:
        """Evict the sessions idle for ``idle_seconds`` (not locked: nobody is using them); return their ids."""
        cutoff = self.clock() - self.idle_seconds
        busy = {cid for cid, lock in self._locks.items() if lock.locked()}
        gone = [cid for cid, s in self.sessions.items() if s.last_used <= cutoff and cid not in busy]
        for cid in gone:
            del self.sessions[cid]
            self._locks.pop(cid, None)
        if gone:
            log.info("sessions unloaded after %.0f s idle: %s", self.idle_seconds, ", ".join(gone))
        return gone

    def idle(self) -> bool:
        """Nothing hosted, nothing in flight and no call for ``idle_seconds``: the shard may exit."""
        busy = any(lock.locked() for lock in self._locks.values())
        return not self.sessions and not busy and self.clock() - self.last_call >= self.idle_seconds

    async def stats(self) -> dict[str, Any]:
        return {"sessions": len(self.sessions), "class_ids": sorted(self.sessions)}
