"""How the web edge reaches the control plane: the shard actors on Ray, or one shard in-process without Ray.

Both implementations have one method, ``await plane.call(class_id, method, *args)``, which runs
``SessionShard.<method>(class_id, *args)`` on the shard hosting the class and returns its plain result or
raises its :class:`~actors.session_state.SessionError`.

:class:`RaySessions` gets or creates the shard by name (``session-<n>`` in the deployment's namespace, with
``get_if_exists``), so every web replica reaches the same single writer; a shard it creates gets the store
factory the edge gave it (:class:`~actors.session_store.SessionStoreFactory`) and opens its store in its own
process. When a shard died or exited idle between two calls, the call is retried once on a freshly created
shard. A call that dies *while running* may therefore run twice: the shard's operations are written to be
harmless when repeated (raising a raised hand returns it, setting the current mode or follow is a no-op;
resolving twice answers 409).

:class:`LocalSessions` (``CLASSROOM_START_RAY=false``: tests, a laptop without Ray) hosts every class in one
in-process shard on the store the edge gives it, which is the single writer as long as there is one web process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from actors.session import IDLE_SECONDS, SESSION_SHARDS, SessionShard, shard_of
from actors.session_state import SessionError, SessionUnavailable
from actors.session_store import SessionStore, SessionStoreFactory

log = logging.getLogger(__name__)


class SessionPlane(Protocol):
    async def call(self, class_id: str, method: str, *args: Any) -> Any: ...

    async def warm(self, class_id: str) -> None: ...


class LocalSessions:
    """Every class in one in-process :class:`SessionShard` (one web process, no Ray)."""

    def __init__(self, store: SessionStore, *, idle_seconds: float = IDLE_SECONDS) -> None:
        self.shard = SessionShard(store, idle_seconds=idle_seconds)

    async def call(self, class_id: str, method: str, *args: Any) -> Any:
        self.shard.reap()  # no timer in-process: evicting on use keeps memory bounded all the same
        return await getattr(self.shard, method)(class_id, *args)

    async def warm(self, class_id: str) -> None:
        """Nothing to start in-process."""


def shard_name(index: int) -> str:
    return f"session-{index}"


class RaySessions:
    """The shard actors of this deployment (Ray must be connected); ``stores`` is passed to the shards it creates."""

    def __init__(
        self,
        stores: SessionStoreFactory,
        namespace: str | None = None,
        *,
        shards: int = SESSION_SHARDS,
        idle_seconds: float = IDLE_SECONDS,
        tick_seconds: float = 10.0,
    ) -> None:
        self.stores = stores
        self.namespace = namespace
        self.shards = shards
        self.idle_seconds = idle_seconds
        self.tick_seconds = tick_seconds
        self._handles: dict[int, Any] = {}

    def handle(self, index: int) -> Any:
        """The shard's actor handle, creating the actor if it does not exist (blocking: a GCS round trip)."""
        from actors.options import remote

        found = self._handles.get(index)
        if found is None:
            options: dict[str, Any] = {"name": shard_name(index), "get_if_exists": True}
            if self.namespace:
                options["namespace"] = self.namespace
            found = (
                remote("session")
                .options(**options)
                .remote(self.stores, idle_seconds=self.idle_seconds, tick_seconds=self.tick_seconds)
            )
            self._handles[index] = found
        return found

    async def warm(self, class_id: str) -> None:
        """Get or create the class's shard without calling it, so its first real call (a raised hand) does not wait
        for a Ray worker process to start: under load that took longer than the 5 s a page may wait."""
        index = shard_of(class_id, self.shards)
        if index not in self._handles:
            await asyncio.to_thread(self.handle, index)

    async def call(self, class_id: str, method: str, *args: Any) -> Any:
        from ray.exceptions import RayActorError, RayTaskError

        index = shard_of(class_id, self.shards)
        for attempt in (1, 2):
            try:
                handle = self._handles.get(index) or await asyncio.to_thread(self.handle, index)
                return await getattr(handle, method).remote(class_id, *args)
            except RayTaskError as exc:
                # The actor's own error comes back wrapped: re-raise the original, with its detail, for the edge.
                if isinstance(exc.cause, SessionError):
                    raise exc.cause from None
                raise
            except RayActorError as exc:  # died, exited idle, or not reachable right now
                self._handles.pop(index, None)
                log.warning("session shard %d unavailable (attempt %d): %s", index, attempt, exc)
                if attempt == 2:
                    raise SessionUnavailable("the class session service is unavailable; try again") from None
                await asyncio.sleep(0.3)  # a restarting shard needs a moment before it answers again
            except ValueError as exc:  # get_if_exists raced another creator: the named actor exists, look again
                self._handles.pop(index, None)
                if attempt == 2:
                    raise SessionUnavailable(f"could not reach the class session: {exc}") from None
        raise AssertionError("unreachable")
