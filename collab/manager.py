"""The room manager: owns the rooms of this process, their persistence and their replica fan-out.

One lifecycle: ``async with RoomManager(store, ...) as manager:``. Entering starts the bus and the housekeeping
task (log flushes every ``flush_interval_seconds``, snapshots, idle unloads, anti-entropy); leaving closes every
connection with 1001, flushes and snapshots every room, then closes the bus. Loading a room happens once however
many clients join at the same moment: they all await the same load task (no start race, unlike
pycrdt-websocket 0.16.5 where simultaneous joins of a new room hung).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from pycrdt import Doc

from collab import bus as busmod
from collab import history, protocol
from collab.connection import Channel, Connection, Member
from collab.errors import AccessRevoked, CollabError, ProtocolError, RoomLimitReached, ShuttingDown
from collab.files import LAYOUT_UPDATE, read_files, write_files
from collab.limits import Limits
from collab.room import REMOTE, Room
from collab.store import DocumentStore

log = logging.getLogger(__name__)


class RoomManager:
    """Rooms in memory, served over channels, persisted to a store, shared with replicas over a bus."""

    def __init__(
        self, store: DocumentStore, *, bus: busmod.ReplicaBus | None = None, limits: Limits | None = None
    ) -> None:
        self.store = store
        self.limits = limits or Limits()
        self._bus = bus
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Task[Room]] = {}
        self._connections: set[Connection] = set()
        self._messages_of_closed = 0
        self._housekeeper: asyncio.Task[None] | None = None
        self._closing = False
        self._all_closed = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------------------------
    async def __aenter__(self) -> RoomManager:
        if self._bus is not None:
            await self._bus.start(self._on_bus)
        self._housekeeper = asyncio.create_task(self._housekeep())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing = True
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            await asyncio.gather(self._housekeeper, return_exceptions=True)
        for connection in list(self._connections):
            connection.stop(ShuttingDown("the server is restarting"))
        if self._connections:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), timeout=2.0)
        await asyncio.gather(*self._loading.values(), return_exceptions=True)
        for room in list(self._rooms.values()):
            await self._flush(room, snapshot=True)
            room.close()
        self._rooms.clear()
        if self._bus is not None:
            await self._bus.close()

    # -- connections -----------------------------------------------------------------------------------------
    async def serve(self, channel: Channel, room_id: str, member: Member) -> None:
        """Run one accepted connection until it ends; errors close the channel with their close code."""
        try:
            room = await self._acquire(room_id)
        except CollabError as exc:
            with contextlib.suppress(Exception):
                await channel.close(exc.close_code, exc.detail[:120])
            return
        connection = Connection(channel, room, member, self.limits)
        self._connections.add(connection)
        try:
            await connection.run()
        finally:
            self._connections.discard(connection)
            self._messages_of_closed += connection.received
            if self._closing and not self._connections:
                self._all_closed.set()

    # -- server-side API -------------------------------------------------------------------------------------
    def set_access(self, room_id: str, decide: Callable[[Member], bool | None]) -> int:
        """Change the rights of the room's live connections on this process: ``decide(member)`` answers True
        (may write), False (read only) or None (must leave: closed with 4403). Returns how many changed.

        A connection made read-only is told so by its next write (the y-websocket permission message), and its
        writes are dropped from then on: a room switched to demo stops taking students' edits at once.
        """
        changed = 0
        for connection in list(self._connections):
            if connection.room.room_id != room_id:
                continue
            verdict = decide(connection.member)
            if verdict is None:
                connection.stop(AccessRevoked("you may no longer open this room"))
                changed += 1
            elif verdict != connection.member.can_write:
                connection.member = dataclasses.replace(connection.member, can_write=verdict)
                connection.reset_read_only_notice()
                changed += 1
        return changed

    async def files(self, room_id: str) -> dict[str, str]:
        """The room's files now: name -> text."""
        return read_files((await self._acquire(room_id)).doc)

    async def set_files(self, room_id: str, files: Mapping[str, str], *, replace: bool = False) -> None:
        """Set whole files (minimal text edits); ``replace`` also deletes files not named. Logged and relayed."""
        await self.edit(room_id, lambda doc: write_files(doc, files, replace=replace))

    async def edit(self, room_id: str, change: Callable[[Doc[Any]], None]) -> None:
        """Run ``change(doc)`` in one transaction as a server-side edit (e.g. push starter code)."""
        (await self._acquire(room_id)).edit(change)

    async def state_vector(self, room_id: str) -> bytes:
        """The room document's state vector now (store it with a run to rebuild what ran)."""
        return (await self._acquire(room_id)).doc.get_state()

    async def subscribe(self, room_id: str, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Call ``callback(update)`` after every change of the room (from anywhere); returns an unsubscriber.

        The callback runs inside the change: it must not block (queue the work). A subscribed room stays loaded.
        """
        room = await self._acquire(room_id)
        room.listeners.append(callback)
        room.idle_since = None

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                room.listeners.remove(callback)
            room.mark_idle()

        return unsubscribe

    async def rebuild(
        self, room_id: str, *, state_vector: bytes | None = None, at: datetime | None = None
    ) -> dict[str, str]:
        """The room's files at a past state vector and/or time, replayed from the durable log."""
        room = self._rooms.get(room_id)
        if room is not None:
            await self._flush(room)
        return read_files(await history.rebuild(self.store, room_id, state_vector=state_vector, at=at))

    async def flush(self) -> None:
        """Write every room's pending updates to the durable log now, in one ``append_many``."""
        taken = [r for r in self._rooms.values() if r.pending and not r.flush_lock.locked()]
        for room in taken:
            await room.flush_lock.acquire()  # free (checked above): returns without yielding
        try:
            batches = {room.room_id: room.pending for room in taken}
            for room in taken:
                room.pending = []
            if not batches:
                return
            try:
                seqs = await self.store.append_many(batches)
            except Exception:
                for room in taken:
                    room.pending[:0] = batches[room.room_id]  # keep them: the next tick retries
                log.exception("could not log the updates of %d rooms", len(taken))
                return
            for room in taken:
                room.last_seq = seqs[room.room_id]
                room.since_snapshot += len(batches[room.room_id])
                if room.since_snapshot >= self.limits.compact_every:
                    await self._compact(room)
        finally:
            for room in taken:
                room.flush_lock.release()

    @property
    def rooms(self) -> int:
        return len(self._rooms)

    def stats(self) -> dict[str, float]:
        """Gauges for monitoring: rooms in memory, open connections, messages received since start (a counter),
        and the flush lag: the age in seconds of the oldest update not yet in the durable log (0 when none)."""
        oldest = min((room.pending[0][1] for room in self._rooms.values() if room.pending), default=None)
        lag = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        return {
            "rooms": len(self._rooms),
            "connections": len(self._connections),
            "messages": self._messages_of_closed + sum(c.received for c in self._connections),
            "flush_lag_seconds": lag,
        }

    # -- rooms -----------------------------------------------------------------------------------------------
    async def _acquire(self, room_id: str) -> Room:
        room = self._rooms.get(room_id)
        if room is not None:
            return room
        if self._closing:
            raise ShuttingDown("the server is restarting")
        task = self._loading.get(room_id)
        if task is None:
            await self._make_space()
            task = self._loading.get(room_id)  # another caller may have started it while we made space
            if task is None:
                task = asyncio.create_task(self._load(room_id))
                self._loading[room_id] = task
        # shield: a joiner that disconnects while waiting must not cancel the load the others wait for.
        return await asyncio.shield(task)

    async def _load(self, room_id: str) -> Room:
        try:
            stored = await self.store.load(room_id)
            doc: Doc[Any] = Doc()
            doc.apply_update(LAYOUT_UPDATE)
            if stored.snapshot is not None:
                doc.apply_update(stored.snapshot)
            for update in stored.updates:
                doc.apply_update(update)
            publish = None
            if self._bus is not None:
                bus = self._bus
                await bus.join(room_id)
                publish = lambda kind, payload: bus.publish(room_id, kind, payload)  # noqa: E731
            room = Room(room_id, doc, last_seq=stored.last_seq, publish=publish)
            self._rooms[room_id] = room
            if self._bus is not None:
                self._bus.publish(room_id, busmod.SYNC_REQUEST, doc.get_state())
                self._bus.publish(room_id, busmod.AWARENESS_REQUEST, b"")
            return room
        finally:
            self._loading.pop(room_id, None)

    async def _make_space(self) -> None:
        if len(self._rooms) + len(self._loading) < self.limits.max_rooms:
            return
        idle = sorted((r for r in self._rooms.values() if r.idle), key=lambda r: r.idle_since or 0.0)
        for room in idle:
            await self._unload(room)
            if len(self._rooms) + len(self._loading) < self.limits.max_rooms:
                return
        raise RoomLimitReached(f"{self.limits.max_rooms} rooms are in use on this server")

    async def _unload(self, room: Room) -> None:
        await self._flush(room, snapshot=True)
        # No await between this check and the removal: a join cannot slip in between.
        if room.idle and not room.pending and self._rooms.get(room.room_id) is room:
            del self._rooms[room.room_id]
            room.close()
            if self._bus is not None:
                await self._bus.leave(room.room_id)

    async def _flush(self, room: Room, *, snapshot: bool = False) -> None:
        async with room.flush_lock:
            batch, room.pending = room.pending, []
            if batch:
                try:
                    room.last_seq = await self.store.append(room.room_id, batch)
                except Exception:
                    room.pending[:0] = batch  # keep them: the next tick retries
                    log.exception("could not log %d updates of room %s", len(batch), room.room_id)
                    return
                room.since_snapshot += len(batch)
            if room.since_snapshot >= self.limits.compact_every or (snapshot and room.since_snapshot):
                await self._compact(room)

    async def _compact(self, room: Room) -> None:
        """Snapshot the room (caller holds its flush lock)."""
        await self.store.compact(room.room_id, room.doc.get_update(), room.doc.get_state(), room.last_seq)
        room.since_snapshot = 0

    async def _housekeep(self) -> None:
        """Flush every tick; unload idle rooms and ask replicas for missed updates now and then. Never dies."""
        interval = self.limits.flush_interval_seconds
        last_sweep = last_entropy = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush()
                now = time.monotonic()
                if now - last_sweep >= 1.0:
                    last_sweep = now
                    for room in list(self._rooms.values()):
                        if room.idle_since is not None and now - room.idle_since >= self.limits.idle_unload_seconds:
                            await self._unload(room)
                if self._bus is not None and now - last_entropy >= self.limits.anti_entropy_seconds:
                    last_entropy = now
                    for room in self._rooms.values():
                        self._bus.publish(room.room_id, busmod.SYNC_REQUEST, room.doc.get_state())
            except Exception:
                log.exception("collab housekeeping failed; retrying next tick")

    def _on_bus(self, room_id: str, kind: int, payload: bytes) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        try:
            if kind == busmod.UPDATE:
                room.apply(payload, REMOTE)
            elif kind == busmod.AWARENESS:
                room.relay_awareness(protocol.decode_awareness(payload), REMOTE)
            elif kind == busmod.SYNC_REQUEST and self._bus is not None:
                missing = room.doc.get_update(payload)
                if missing != b"\x00\x00":
                    self._bus.publish(room_id, busmod.UPDATE, missing)
            elif kind == busmod.AWARENESS_REQUEST and self._bus is not None:
                # Only what our own clients said: every replica answers for its own, so nothing comes twice.
                ours = room.awareness.snapshot(excluding=REMOTE)
                if ours:
                    self._bus.publish(room_id, busmod.AWARENESS, protocol.encode_awareness(ours))
        except (ProtocolError, ValueError) as exc:
            log.warning("dropped a malformed replica message for room %s: %s", room_id, exc)
