"""The knobs of a :class:`collab.RoomManager`, in one frozen value with the reason for each default."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits and timings. Defaults suit one classroom process; every field is validated on construction."""

    # A frame larger than this closes the connection with 1009. Pasting a large file is ~100 KiB.
    max_message_bytes: int = 1 * MiB
    # Token bucket per connection over every message (updates and awareness). Typing sends ~10-30/s.
    messages_per_second: float = 100.0
    burst: int = 500
    # Outgoing bytes waiting for a slow reader before it is dropped (it resyncs when it reconnects).
    max_queued_bytes: int = 8 * MiB
    # Rooms held in memory; idle ones are unloaded first to make room.
    max_rooms: int = 2000
    # How long a room without connections or subscribers stays loaded.
    idle_unload_seconds: float = 30.0
    # The durable log receives batches at this interval: an update is never older than ~2x this unlogged.
    flush_interval_seconds: float = 0.1
    # A snapshot is written after this many logged updates (and when a room unloads).
    compact_every: int = 500
    # Replicas ask each other for missed updates this often (Redis pub/sub is at-most-once).
    anti_entropy_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.max_message_bytes <= MiB:
            raise ValueError("max_message_bytes must be between 1 and 1 MiB")
        if self.messages_per_second <= 0 or self.burst < 1:
            raise ValueError("messages_per_second must be > 0 and burst >= 1")
        if self.max_rooms < 1 or self.compact_every < 1:
            raise ValueError("max_rooms and compact_every must be >= 1")
        if not 0 < self.flush_interval_seconds <= 0.2:
            raise ValueError("flush_interval_seconds must be in (0, 0.2]: the log may lag at most 200 ms")
