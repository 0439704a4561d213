"""Run outcomes to the analytics actor, in batches, fire and forget, off the hot path.

:class:`OutcomeBatcher` collects outcomes and flushes them every ``interval`` seconds (or at ``max_batch``)
through a ``send(batch)`` callable. :func:`ray_sender` looks up the named analytics actor
(:data:`actors.options.ANALYTICS_ACTOR_NAME`) and calls ``record_outcomes.remote(batch)`` without waiting; while
that actor does not exist the batch is dropped and counted (analytics is best effort: the runs table stays the
record of what happened).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Send = Callable[[list[dict[str, Any]]], None]


class OutcomeBatcher:
    def __init__(self, send: Send, *, interval: float = 1.0, max_batch: int = 200, max_pending: int = 10_000) -> None:
        self.send = send
        self.interval = interval
        self.max_batch = max_batch
        self.max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.dropped = 0

    def add(self, outcome: dict[str, Any]) -> None:
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return
        self._pending.append(outcome)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outcomes")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.flush()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.flush()

    def flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            try:
                self.send(batch)
                self.sent += len(batch)
            except Exception as exc:  # never let analytics hurt runs
                self.dropped += len(batch)
                log.debug("outcomes: dropped %d: %s", len(batch), exc)


def ray_sender(namespace: str | None = None) -> Send:
    """Send batches to the named analytics actor; a missing actor drops the batch (looked up again next time)."""
    handle: list[Any] = []

    def send(batch: list[dict[str, Any]]) -> None:
        import ray

        from actors.options import ANALYTICS_ACTOR_NAME

        if not handle:
            try:
                handle.append(ray.get_actor(ANALYTICS_ACTOR_NAME, namespace=namespace))
            except ValueError:
                raise RuntimeError("the analytics actor is not running") from None
        try:
            handle[0].record_outcomes.remote(batch)
        except Exception:
            handle.clear()
            raise

    return send
