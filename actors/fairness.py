"""Which queued run goes next: a pure function, so the policy is tested without a database or Ray.

Policy, in order:

1. A run with a higher ``priority`` goes first (an instructor's run in a demo room: the whole class waits on it).
2. One running run per user at priority 0: a user's further runs wait until their current one ends, so a
   student who submits 50 runs holds at most one slot.
3. Round robin: among the rest, the user served longest ago goes first, then the room served longest ago;
   within one user, first come first served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from actors.queue import QueuedRun


@dataclass
class Fairness:
    """The scheduler's memory: when each user and room was last served (a dispatch counter, not a clock)."""

    user_served: dict[str, int] = field(default_factory=dict)
    room_served: dict[str, int] = field(default_factory=dict)
    tick: int = 0

    def served(self, run: QueuedRun) -> None:
        self.tick += 1
        self.user_served[run.user] = self.tick
        if run.room:
            self.room_served[run.room] = self.tick

    def order_key(self, run: QueuedRun) -> tuple[int, int, int, float]:
        return (
            -run.priority,
            self.user_served.get(run.user, 0),
            self.room_served.get(run.room or "", 0),
            run.created_at.timestamp(),
        )

    def pick(self, queued: Iterable[QueuedRun], running_users: Mapping[str, int]) -> QueuedRun | None:
        """The next run to start, or None if every queued run must wait."""
        best: QueuedRun | None = None
        best_key: tuple[int, int, int, float] | None = None
        for run in queued:
            if run.priority <= 0 and running_users.get(run.user, 0) > 0:
                continue
            key = self.order_key(run)
            if best_key is None or key < best_key:
                best, best_key = run, key
        return best

    def position(self, queued: Iterable[QueuedRun], run_id: str) -> int:
        """1-based place of ``run_id`` in the current order (an estimate: the order changes as runs finish)."""
        ordered = sorted(queued, key=self.order_key)
        for i, run in enumerate(ordered, 1):
            if run.id == run_id:
                return i
        return 0
