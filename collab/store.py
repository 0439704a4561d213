"""Where room documents persist: one abstract store, and an in-memory one for tests of other things.

The contract every store keeps:

* ``append`` adds a batch of updates to a room's durable log, in order, and returns the ``seq`` of the last one
  (``seq`` grows per room). It returns only once the batch is durable. ``append_many`` does the same for several
  rooms; stores that can write them in one transaction override it (the manager flushes every room each tick).
* ``compact`` records a snapshot: the full document state that includes every update up to ``upto_seq``.
  The log is kept (it is the history :func:`collab.history.rebuild` replays); only loading gets faster.
* ``load`` returns the newest snapshot (or none) and the log entries that may not be in it.
* ``history`` returns log entries in ``seq`` order, optionally only those after a seq.

A store may return updates a snapshot already contains: applying a Yjs update twice is harmless, which is why
loads re-apply a window of entries before the snapshot (another replica may have logged them late).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One logged update: its per-room ``seq``, the update bytes, and when the server received it."""

    seq: int
    data: bytes
    at: datetime


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What a room loads from: an optional snapshot state and the updates to apply after it."""

    snapshot: bytes | None
    updates: list[bytes]
    last_seq: int


class DocumentStore(ABC):
    """The durable home of room documents (see the module docstring for the contract)."""

    @abstractmethod
    async def load(self, room_id: str) -> StoredDocument: ...

    @abstractmethod
    async def append(self, room_id: str, updates: Sequence[tuple[bytes, datetime]]) -> int: ...

    async def append_many(self, batches: Mapping[str, Sequence[tuple[bytes, datetime]]]) -> dict[str, int]:
        """``append`` for several rooms at once: room id -> seq of its last update."""
        return {room_id: await self.append(room_id, updates) for room_id, updates in batches.items()}

    @abstractmethod
    async def compact(self, room_id: str, state: bytes, state_vector: bytes, upto_seq: int) -> None: ...

    @abstractmethod
    async def history(self, room_id: str, after_seq: int = 0) -> list[LogEntry]: ...


@dataclass
class _MemoryRoom:
    log: list[LogEntry] = field(default_factory=list)
    snapshot: tuple[bytes, int] | None = None


class MemoryStore(DocumentStore):
    """A store in a dict: for tests of code that needs *a* store, never for tests of a store."""

    def __init__(self) -> None:
        self._rooms: dict[str, _MemoryRoom] = {}

    async def load(self, room_id: str) -> StoredDocument:
        room = self._rooms.get(room_id, _MemoryRoom())
        upto = room.snapshot[1] if room.snapshot else 0
        last = room.log[-1].seq if room.log else 0
        return StoredDocument(
            room.snapshot[0] if room.snapshot else None, [e.data for e in room.log if e.seq > upto], last
        )

    async def append(self, room_id: str, updates: Sequence[tuple[bytes, datetime]]) -> int:
        log = self._rooms.setdefault(room_id, _MemoryRoom()).log
        seq = log[-1].seq if log else 0
        for data, at in updates:
            seq += 1
            log.append(LogEntry(seq, data, at))
        return seq

    async def compact(self, room_id: str, state: bytes, state_vector: bytes, upto_seq: int) -> None:
        self._rooms.setdefault(room_id, _MemoryRoom()).snapshot = (state, upto_seq)

    async def history(self, room_id: str, after_seq: int = 0) -> list[LogEntry]:
        return [e for e in self._rooms.get(room_id, _MemoryRoom()).log if e.seq > after_seq]
