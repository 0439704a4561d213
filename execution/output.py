"""Server-side output capping: however much a program prints, the memory we hold stays bounded."""

from __future__ import annotations

from dataclasses import dataclass, field

from execution.types import Stream

TAIL_BYTES = 16 * 1024


@dataclass
class StreamCapture:
    """The captured head of one stream (up to the shared budget) plus a small tail for traceback parsing."""

    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    truncated: bool = False

    def text(self) -> str:
        return self.head.decode("utf-8", errors="replace")

    def tail_text(self) -> str:
        return self.tail.decode("utf-8", errors="replace")


class OutputCapture:
    """Stdout and stderr sharing one byte budget (``Limits.output_bytes``).

    ``feed`` returns the part of ``data`` that fits (to stream on), and flips ``exceeded`` once the program
    printed more than the budget; the caller then kills the run with verdict ``output_limit``.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.exceeded = False
        self.streams: dict[Stream, StreamCapture] = {"stdout": StreamCapture(), "stderr": StreamCapture()}

    def feed(self, stream: Stream, data: bytes) -> bytes:
        cap = self.streams[stream]
        cap.tail += data
        if len(cap.tail) > TAIL_BYTES:
            del cap.tail[: len(cap.tail) - TAIL_BYTES]
        room = self.budget - self.used
        kept = data[: max(room, 0)]
        cap.head += kept
        self.used += len(kept)
        if len(kept) < len(data):
            cap.truncated = True
            self.exceeded = True
        return kept
