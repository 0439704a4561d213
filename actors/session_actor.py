"""The session shard as a Ray actor: binds the database in its own process and reconciles on a timer.

Ray options (name, namespace, restarts) live in :mod:`actors.options` (kind ``"session"``); callers reach shards
through :mod:`actors.session_client`. The reconcile loop runs every ``tick_seconds``: it evicts idle class
sessions and, once the shard hosts nothing and has been idle for ``idle_seconds``, kills its own actor without
restart, which frees its name; the next call recreates the shard on demand. The loop logs and carries on after
any error (a database hiccup must not stop eviction).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from actors.session import IDLE_SECONDS, SessionShard
from classroom import db

log = logging.getLogger(__name__)


class SessionShardActor(SessionShard):
    """A :class:`SessionShard` in a Ray worker process, talking to the database at ``database_url``."""

    def __init__(self, database_url: str, *, idle_seconds: float = IDLE_SECONDS, tick_seconds: float = 10.0) -> None:
        super().__init__(idle_seconds=idle_seconds)
        self.tick_seconds = tick_seconds
        self.engine = db.engine_from_url(database_url)
        db.bind(self.engine)  # this process is the actor's own: binding the tables globally is safe here
        self._loop: asyncio.Task[None] | None = None
        self._started = False

    async def _ensure_started(self) -> None:
        # Ray runs __init__ outside the actor's event loop: the pool and the timer start on the first call.
        if not self._started:
            self._started = True
            await db.start(self.engine)
            self._loop = asyncio.get_running_loop().create_task(self._reconcile())

    async def _session(self, class_id: str, *, fresh: bool = False) -> Any:
        await self._ensure_started()
        return await super()._session(class_id, fresh=fresh)

    async def ready(self) -> int:
        """Start the timer and answer with this process's id (tests and capacity measurements use it)."""
        import os

        await self._ensure_started()
        return os.getpid()

    async def _reconcile(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                self.reap()
                if self.idle():
                    log.info("session shard idle for %.0f s: exiting", self.idle_seconds)
                    # No pool shutdown first: a call arriving meanwhile would meet a closed pool; the process
                    # exit closes the connections anyway.
                    self._exit()
                    return
            except Exception:
                log.exception("session shard reconcile failed; retrying next tick")

    def _exit(self) -> None:
        import ray

        # no_restart: an idle exit is deliberate, so Ray frees the name instead of restarting the shard.
        ray.kill(ray.get_runtime_context().current_actor, no_restart=True)
