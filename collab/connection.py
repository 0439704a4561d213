"""One client connection: the transport seam (:class:`Channel`), the member's rights, and the read/write loops.

The reader decodes each frame (pure :mod:`collab.protocol`), enforces the size and rate limits, and hands
changes to the room; a protocol violation closes *this* connection with the error's close code and touches
nothing else. The writer drains a per-connection queue, so the room never waits on a socket; a peer that reads
too slowly is closed once its queue outgrows the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from collab import protocol
from collab.errors import CollabError, MessageTooBig, RateLimited, SlowConsumer, UnsupportedData
from collab.limits import Limits
from collab.room import Room

log = logging.getLogger(__name__)

READ_ONLY_REASON = "this room is read-only for you: your edits are not shared and will be discarded"
# An update with no structs and no deletions: what a client with nothing new answers to sync step 1.
EMPTY_UPDATE = b"\x00\x00"
CLOSE_TIMEOUT = 2.0


class ChannelClosed(Exception):
    """Raised by :meth:`Channel.recv` when the peer has gone."""


class Channel(Protocol):
    """A message transport (a WebSocket). ``recv`` returns one frame (bytes, or str for a text frame) and
    raises ChannelClosed when the peer is gone; ``send`` may raise anything once the peer is gone."""

    async def recv(self) -> bytes | str: ...

    async def send(self, message: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Member:
    """Who is connected and what they may do. Viewers receive everything and change nothing. ``role`` is the
    edge's label for the connection (e.g. "instructor", "observer"), read back when access changes live."""

    user_id: str
    name: str
    can_write: bool
    role: str = ""


class Connection:
    """A member connected to a room through a channel; :meth:`run` returns when the connection is over."""

    def __init__(self, channel: Channel, room: Room, member: Member, limits: Limits) -> None:
        self.channel = channel
        self.room = room
        self.member = member
        self._limits = limits
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self.received = 0  # frames taken from the peer (the manager's message count)
        self._wake = asyncio.Event()
        self._failure: CollabError | None = None
        self._tokens = float(limits.burst)
        self._refilled = time.monotonic()
        self._told_read_only = False
        self._writer: asyncio.Task[None] | None = None

    def push(self, message: bytes) -> None:
        if self._failure is not None:
            return
        # One message is always accepted, however large: a whole-document sync may exceed the limit on its own.
        if self._queue and self._queued_bytes + len(message) > self._limits.max_queued_bytes:
            self.stop(SlowConsumer(f"more than {self._limits.max_queued_bytes} bytes waiting to be read"))
            return
        self._queued_bytes += len(message)
        self._queue.append(message)
        self._wake.set()

    def reset_read_only_notice(self) -> None:
        """Tell the peer again, at its next refused write, that the room is read-only (its rights changed)."""
        self._told_read_only = False

    def stop(self, reason: CollabError) -> None:
        """Close this connection soon with ``reason``'s close code (used for slow peers and shutdown)."""
        if self._failure is None:
            self._failure = reason
            self._queue.clear()
            self._wake.set()
            if self._writer is not None:
                # The writer may be stuck in a send the peer never reads (flow control): do not wait for it.
                self._writer.cancel()

    async def run(self) -> None:
        """Serve until the peer leaves or breaks a rule; close the channel with the matching code."""
        self.room.join(self)
        reader = asyncio.create_task(self._read())
        writer = self._writer = asyncio.create_task(self._write())
        error: CollabError | None = None
        try:
            done, _ = await asyncio.wait((reader, writer), return_when=asyncio.FIRST_COMPLETED)
            error = self._failure
            for task in done:
                if task.cancelled():
                    continue
                exc = task.exception()
                if isinstance(exc, CollabError):
                    error = exc
                elif exc is not None and not isinstance(exc, ChannelClosed):
                    log.debug("connection to %s ended: %r", self.room.room_id, exc)
        finally:
            reader.cancel()
            writer.cancel()
            self.room.leave(self)
            await asyncio.gather(reader, writer, return_exceptions=True)
        if error is not None:
            with contextlib.suppress(Exception):
                # Bounded: a peer that reads nothing cannot take the close frame either.
                await asyncio.wait_for(self.channel.close(error.close_code, error.detail[:120]), CLOSE_TIMEOUT)

    async def _write(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            if self._failure is not None:
                raise self._failure
            message = self._queue.popleft()
            self._queued_bytes -= len(message)
            await self.channel.send(message)

    async def _read(self) -> None:
        while True:
            frame = await self.channel.recv()
            if isinstance(frame, str):
                raise UnsupportedData("text frames are not part of the y-websocket protocol")
            if len(frame) > self._limits.max_message_bytes:
                raise MessageTooBig(f"a message is larger than {self._limits.max_message_bytes} bytes")
            self._take_token()
            self.received += 1
            self._handle(protocol.decode(frame))

    def _take_token(self) -> None:
        now = time.monotonic()
        rate, burst = self._limits.messages_per_second, self._limits.burst
        self._tokens = min(burst, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens < 1:
            raise RateLimited(f"more than {rate:g} messages per second")
        self._tokens -= 1

    def _handle(self, message: protocol.Message) -> None:
        room = self.room
        if isinstance(message, protocol.Sync):
            if message.step == protocol.SYNC_STEP1:
                reply = protocol.handle_sync_message(message, room.doc)
                if reply is not None:
                    self.push(reply)
            elif self.member.can_write:
                room.apply(message.payload, self)
            elif message.payload != EMPTY_UPDATE and not self._told_read_only:
                self._told_read_only = True
                self.push(protocol.permission_denied_message(READ_ONLY_REASON))
        elif isinstance(message, protocol.Awareness):
            room.relay_awareness(message.entries, self)
        else:
            states = room.awareness.snapshot()
            if states:
                self.push(protocol.awareness_message(protocol.encode_awareness(states)))
