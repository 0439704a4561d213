"""One room in memory: its document, the connections in it, its awareness table and its unflushed log.

Every change, wherever it comes from (a connection, another replica, the server-side API), goes through
:meth:`Room.apply` or :meth:`Room.edit`; the document's observer then relays the *integrated* update to every
other connection, queues it for the durable log (unless another replica already logged it) and tells listeners.
Relaying never awaits: each connection has its own outgoing queue (see :mod:`collab.connection`), so a peer that
vanishes mid-broadcast cannot stall or break the room (pycrdt-websocket 0.16.5's "Awareness not started" bug).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from pycrdt import Doc, TransactionEvent

from collab import protocol
from collab.awareness import AwarenessTable, Entry

# Origins that are not connections: another replica (already logged there) and the server-side API.
REMOTE = object()
SERVER = object()

Listener = Callable[[bytes], None]
Publisher = Callable[[int, bytes], None]
BUS_UPDATE = 0
BUS_AWARENESS = 1


class Peer(Protocol):
    """A connection as the room sees it: something that queues an outgoing frame without waiting."""

    def push(self, message: bytes) -> None: ...


class Room:
    """A loaded room. Not thread-safe: it lives on the event loop of its manager."""

    def __init__(self, room_id: str, doc: Doc[Any], *, last_seq: int, publish: Publisher | None = None) -> None:
        self.room_id = room_id
        self.doc = doc
        self.peers: set[Peer] = set()
        self.listeners: list[Listener] = []
        self.awareness = AwarenessTable()
        self.pending: list[tuple[bytes, datetime]] = []  # updates not yet in the durable log
        self.last_seq = last_seq
        self.since_snapshot = 0
        self.flush_lock = asyncio.Lock()
        self.idle_since: float | None = time.monotonic()
        # Awareness entries forwarded / dropped as stale echoes (the O(N²) guard at work; read by tests, metrics).
        self.awareness_relayed = 0
        self.awareness_dropped = 0
        self._publish = publish
        self._origin: object = None
        self._subscription = doc.observe(self._on_change)

    # -- changes ---------------------------------------------------------------------------------------------
    def apply(self, update: bytes, origin: object) -> None:
        """Apply a peer's or replica's update; ProtocolError if it does not decode (the room is untouched)."""
        self._origin = origin
        try:
            protocol.apply_update(self.doc, update)
        finally:
            self._origin = None

    def edit(self, change: Callable[[Doc[Any]], None]) -> None:
        """Run a server-side change in one transaction: peers see one update, and it is logged."""
        self._origin = SERVER
        try:
            with self.doc.transaction():
                change(self.doc)
        finally:
            self._origin = None

    def _on_change(self, event: TransactionEvent) -> None:
        update = event.update
        origin = self._origin
        message = protocol.update_message(update)
        for peer in self.peers:
            if peer is not origin:
                peer.push(message)
        if origin is not REMOTE:
            self.pending.append((update, datetime.now(UTC)))
            if self._publish is not None:
                self._publish(BUS_UPDATE, update)
        for listener in self.listeners:
            listener(update)

    # -- awareness -------------------------------------------------------------------------------------------
    def relay_awareness(self, entries: list[Entry], origin: object) -> None:
        """Forward the entries that are news to every other peer (and replica); drop stale echoes."""
        fresh = self.awareness.accept(entries, origin)
        self.awareness_dropped += len(entries) - len(fresh)
        if not fresh:
            return
        self.awareness_relayed += len(fresh)
        update = protocol.encode_awareness(fresh)
        message = protocol.awareness_message(update)
        for peer in self.peers:
            if peer is not origin:
                peer.push(message)
        if origin is not REMOTE and self._publish is not None:
            self._publish(BUS_AWARENESS, update)

    # -- membership ------------------------------------------------------------------------------------------
    def join(self, peer: Peer) -> None:
        """Add a peer and queue the server's half of the handshake: sync step 1 and the known awareness."""
        self.peers.add(peer)
        self.idle_since = None
        peer.push(protocol.sync_message(protocol.SYNC_STEP1, self.doc.get_state()))
        states = self.awareness.snapshot()
        if states:
            peer.push(protocol.awareness_message(protocol.encode_awareness(states)))

    def leave(self, peer: Peer) -> None:
        """Remove a peer and tell the others its cursors are gone."""
        self.peers.discard(peer)
        removals = self.awareness.release(peer)
        if removals:
            # release() already recorded them; relay directly.
            update = protocol.encode_awareness(removals)
            message = protocol.awareness_message(update)
            for other in self.peers:
                other.push(message)
            if self._publish is not None:
                self._publish(BUS_AWARENESS, update)
        self.mark_idle()

    def mark_idle(self) -> None:
        if not self.peers and not self.listeners and self.idle_since is None:
            self.idle_since = time.monotonic()

    @property
    def idle(self) -> bool:
        return not self.peers and not self.listeners

    def close(self) -> None:
        self.doc.unobserve(self._subscription)
