"""What the dispatcher needs from the durable run queue: the :class:`RunQueue` contract and the types it speaks.

The ``runs`` table is the source of truth; a dispatcher's memory is only a cache of it. The database-backed
implementation belongs to the edge (:class:`classroom.stores.run_queue.PiccoloRunQueue`), which hands it to the
dispatcher; nothing here imports the edge. The rules that make the queue at-least-once in execution and
exactly-once in recording:

- **claim**: ``queued -> running`` only if the run is still queued — two dispatchers never take the same run.
  The claim writes a fresh *token* (dispatcher / slot / attempt) into the run and a lease.
- **lease**: the claiming dispatcher renews the lease while the run is in flight; a run whose lease expired (its
  dispatcher or web process died) goes back to ``queued`` — or, after ``max_attempts``, is finished as
  ``internal_error`` with the reason.
- **finish**: the result is written only while the run is ``running`` under the same token — only the current
  attempt can record it, and only once. A stale attempt's result is dropped.

Every method may raise whatever the storage raises (a lost connection, a locked SQLite); the dispatcher retries
the writes of a run and lets a lease recover what it could not write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

MAX_ATTEMPTS = 3
# Whether stdin stays open is stored beside the files in the row's JSON, under a key that is never a file name.
INTERACTIVE_KEY = "/interactive"
# Limits a run asked to lower (``execution.Limits.lowered``) are stored the same way, under this key.
LIMITS_KEY = "/limits"


@dataclass
class QueuedRun:
    """What the fair scheduler needs to know about a queued run."""

    id: str
    user: str
    room: str | None
    klass: str | None
    priority: int
    created_at: datetime
    attempts: int = 0
    kind: str = "run"  # "grade": a check of a lesson's hidden tests
    exercise: str | None = None  # "course/slug" of the room's lesson
    graded: bool = False  # the exercise has hidden tests (then only a check can solve it)


def internal_error(reason: str) -> dict[str, Any]:
    """The result of a run that failed on our side (recorded with :meth:`RunQueue.finish`)."""
    return {"verdict": "internal_error", "internal_reason": reason, "detail": reason}


class RunQueue(Protocol):
    """The run queue's reads and conditional writes. Run ids are the string form of UUIDs; a token is the
    claim's ``dispatcher/slot/nonce``. Statuses: ``queued -> running -> finished`` (and ``running -> queued``
    when an attempt is given back)."""

    async def load_queued(self, limit: int = 5000) -> list[QueuedRun]:
        """Up to ``limit`` queued runs, oldest first, with their attempts so far."""
        ...

    async def load_spec(self, run_id: str) -> dict[str, Any] | None:
        """The program of a run as the slot takes it: ``files`` (without :data:`INTERACTIVE_KEY`), ``entry``,
        ``stdin``, ``args``, ``interactive`` and, when the run asked to lower them, ``limits`` (from
        :data:`LIMITS_KEY`); for a check ``grade``: ``{"tests": [{name, code, points, message}]}`` (the lesson
        version's hidden tests, read here so they are never copied into the row); None when the run is gone."""
        ...

    async def claim(self, run_id: str, token: str, lease_seconds: float) -> int | None:
        """Take a queued run for ``token``: status ``running``, attempts + 1, started now, a lease of
        ``lease_seconds``. The attempt number if taken, None if it is not queued (someone else has it, or it
        finished)."""
        ...

    async def renew(self, tokens: list[str], lease_seconds: float) -> None:
        """Extend to now + ``lease_seconds`` the lease of every running run held by one of ``tokens``."""
        ...

    async def requeue(self, run_id: str, token: str, reason: str, *, count_attempt: bool = True) -> bool:
        """Put a run running under ``token`` back in the queue (no token, no lease, ``reason`` kept); with
        ``count_attempt=False`` the attempt is given back. False if it no longer runs under ``token``."""
        ...

    async def finish(
        self, run_id: str, result: dict[str, Any], *, token: str | None = None, only_queued: bool = False
    ) -> bool:
        """Record the final result once (status ``finished``). With ``token``: only while it runs under that
        token; with ``only_queued``: only a run that never started (cancelled in the queue, or failed for good).
        True if this call recorded it; False if it was already finished or the condition did not hold."""
        ...

    async def recover_expired(self, max_attempts: int = MAX_ATTEMPTS) -> tuple[list[str], list[str]]:
        """Runs whose lease expired (their dispatcher stopped renewing it): requeue those with attempts left,
        finish the others with :func:`internal_error` and the reason. Returns (requeued ids, failed ids)."""
        ...
