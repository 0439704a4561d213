"""The session shard as a Ray actor: opens its store in its own process and reconciles on a timer.

Ray options (name, namespace, restarts) live in :mod:`actors.options` (kind ``"session"``); callers reach shards
through :mod:`actors.session_client`. The store comes from the factory the edge passed as the constructor argument
(:class:`~actors.session_store.SessionStoreFactory`), opened on the first call. The reconcile loop runs every
``tick_seconds``: it evicts idle class sessions and, once the shard hosts nothing and has been idle for
``idle_seconds``, kills its own actor without restart, which frees its name; the next call recreates the shard on
demand. The loop logs and carries on after any error (a database hiccup must not stop eviction).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from actors.session import IDLE_SECONDS, SessionShard
from actors.session_store import SessionStore, SessionStoreFactory

log = logging.getLogger(__name__)


class SessionShardActor(SessionShard):
    """A :class:`SessionShard` in a Ray worker process, with the store that ``stores`` opens there."""

    def __init__(
        self, stores: SessionStoreFactory, *, idle_seconds: float = IDLE_SECONDS, tick_seconds: float = 10.0
    ) -> None:
        # No store yet: it opens on the first call, which waits for it (see _ensure_started) before any use.
        super().__init__(cast(SessionStore, None), idle_seconds=idle_seconds)
        self.stores = stores
        self.tick_seconds = tick_seconds
        self._loop: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._started = False

    async def _ensure_started(self) -> None:
        # Ray runs __init__ outside the actor's event loop: the store (its pool) and the timer start on the first
        # call. Concurrent first calls wait for that one start; a failed start is tried again by the next call.
        if self._started:
            return
        async with self._starting:
            if not self._started:
                self.store = await self.stores.open_session_store()
                self._loop = asyncio.get_running_loop().create_task(self._reconcile())
                self._started = True

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
