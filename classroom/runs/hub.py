"""Fan-out of a run's stream to its WebSocket subscribers, with the so-far output kept for late subscribers.

Each run this process dispatches has a :class:`RunStream`: the messages sent so far (bounded: output beyond
``max_bytes`` is not kept, the sandbox caps output anyway) and one queue per subscriber.
:meth:`RunHub.subscribe` returns the history and a live queue atomically, so a late subscriber gets everything
so far and then every later message, nothing twice and nothing lost. A finished run's stream is kept for
``keep_seconds``; after that subscribers are served from the runs row.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]
OnPublish = Callable[[str, int, Message], None]
MAX_AGE_SECONDS = 3600.0
VOID = ("stdout", "stderr", "started")  # what a retry makes void


@dataclass
class RunStream:
    history: list[Message] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)  # each history message's sequence number
    published: int = 0  # messages published so far: the next one's sequence number
    subscribers: set[asyncio.Queue[Message]] = field(default_factory=set)
    kept_bytes: int = 0
    done: bool = False
    meta: dict[str, Any] = field(default_factory=dict)  # user / room / klass ids: access checks without a query
    opened: float = 0.0
    first_output: float | None = None


class RunHub:
    def __init__(self, *, max_bytes: int = 1024 * 1024, keep_seconds: float = 120.0) -> None:
        self.max_bytes = max_bytes
        self.keep_seconds = keep_seconds
        self._streams: dict[str, RunStream] = {}
        # Submit received -> first output byte here, in ms (the server's share of the latency the user sees).
        self.first_output_ms: collections.deque[float] = collections.deque(maxlen=1000)
        # Told of every message with its sequence number (the relay to other replicas listens here).
        self.on_publish: OnPublish | None = None

    def open(self, run_id: str, meta: dict[str, Any] | None = None) -> None:
        if run_id not in self._streams:
            self._streams[run_id] = RunStream(meta=meta or {}, opened=time.perf_counter())
            # A run finished elsewhere (another replica took it over) never sends us its exit: bound its stay.
            asyncio.get_running_loop().call_later(MAX_AGE_SECONDS, self._streams.pop, run_id, None)

    def meta(self, run_id: str) -> dict[str, Any] | None:
        stream = self._streams.get(run_id)
        return stream.meta if stream is not None and stream.meta else None

    def has(self, run_id: str) -> bool:
        return run_id in self._streams

    def publish(self, run_id: str, message: Message) -> None:
        stream = self._streams.setdefault(run_id, RunStream())
        if stream.done:
            return
        seq = stream.published
        stream.published += 1
        if message["type"] in ("stdout", "stderr"):
            if stream.first_output is None and stream.opened:
                stream.first_output = time.perf_counter()
                self.first_output_ms.append((stream.first_output - stream.opened) * 1000)
            size = len(message["data"])
            if stream.kept_bytes + size <= self.max_bytes:
                stream.history.append(message)
                stream.numbers.append(seq)
            stream.kept_bytes += size
        elif message["type"] == "retry":
            # The failed attempt's output is void: late subscribers see only the attempt that counts.
            kept = [(m, n) for m, n in zip(stream.history, stream.numbers, strict=True) if m["type"] not in VOID]
            stream.history, stream.numbers = [m for m, _ in kept], [n for _, n in kept]
            stream.kept_bytes = 0
            stream.history.append(message)
            stream.numbers.append(seq)
        else:
            stream.history.append(message)
            stream.numbers.append(seq)
        for queue in stream.subscribers:
            queue.put_nowait(message)
        if self.on_publish is not None:
            self.on_publish(run_id, seq, message)
        if message["type"] == "exit":
            stream.done = True
            asyncio.get_running_loop().call_later(self.keep_seconds, self._streams.pop, run_id, None)

    def numbered_history(self, run_id: str) -> list[tuple[int, Message]]:
        """The messages so far with their sequence numbers (empty for a run this process does not stream)."""
        stream = self._streams.get(run_id)
        return [] if stream is None else list(zip(stream.numbers, stream.history, strict=True))

    def subscribe(self, run_id: str) -> tuple[list[Message], asyncio.Queue[Message]] | None:
        stream = self._streams.get(run_id)
        if stream is None:
            return None
        queue: asyncio.Queue[Message] = asyncio.Queue()
        if not stream.done:
            stream.subscribers.add(queue)
        return list(stream.history), queue

    def unsubscribe(self, run_id: str, queue: asyncio.Queue[Message]) -> None:
        stream = self._streams.get(run_id)
        if stream is not None:
            stream.subscribers.discard(queue)


def echo_stdin(hub: RunHub, run_id: str, data: str | None) -> None:
    """The shared console: what the starter typed goes into the run's stream (on the replica that owns the run,
    so every subscriber, here or on another replica, sees it once). End of input is not shown."""
    if data is not None and hub.has(run_id):
        hub.publish(run_id, {"type": "stdin", "data": data})
