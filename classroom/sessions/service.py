"""The control plane's app component: the way from the web edge to the session shards and the analytics actor.

With Ray connected it talks to the shard actors (:class:`~actors.session_client.RaySessions`) and gets or
creates the deployment's analytics actor, so the run dispatcher finds it by name. With
``CLASSROOM_START_RAY=false`` it hosts one shard and the analytics reader in-process. If Ray was wanted but is
down, it stays without a plane and the routes answer 503 rather than starting a second, unshared writer.

This is where the actors get their stores (dependency inversion: ``actors/`` states what it needs in
``actors/session_store.py`` and ``actors/analytics_store.py``, the edge provides it): in-process, the piccolo stores
on the engine the app already bound; on Ray, a :class:`~classroom.stores.PiccoloStores` factory (the database URL)
that each actor opens in its own process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette

from actors.session_client import LocalSessions, RaySessions, SessionPlane
from classroom.components import Component, Health
from classroom.errors import Unavailable
from classroom.sessions.schemas import AnalyticsOut
from classroom.settings import Settings
from classroom.stores import PiccoloAnalyticsStore, PiccoloSessionStore, PiccoloStores

log = logging.getLogger(__name__)


class ControlPlane:
    """The app component owning the way to the session shards and the analytics actor."""

    name = "sessions"
    required = False  # rooms and editing work without it; its routes answer 503 meanwhile

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.plane: SessionPlane | None = None
        self.analytics: Any = None  # the actor handle, or an in-process actors.analytics_actor.Analytics
        self.error: str | None = None
        self._warming: set[asyncio.Task[None]] = set()

    def warm(self, class_id: str) -> None:
        """Start the class's shard in the background (a page of the class connected: hands and modes may follow);
        a failure only means the first call starts it instead."""
        if self.plane is None:
            return
        task = asyncio.create_task(self.plane.warm(class_id))
        self._warming.add(task)
        task.add_done_callback(self._warmed)

    def _warmed(self, task: asyncio.Task[None]) -> None:
        self._warming.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("sessions: starting a shard ahead failed: %s", task.exception())

    async def start(self) -> None:
        import ray

        from actors import analytics_actor

        if not self.settings.start_ray:
            # Even if this process holds a Ray connection (tests), the server was told not to use Ray.
            self.plane = LocalSessions(PiccoloSessionStore())
            self.analytics = analytics_actor.Analytics(PiccoloAnalyticsStore())
        elif ray.is_initialized():
            stores, namespace = PiccoloStores(self.settings.database_url), self.settings.ray_namespace
            self.plane = RaySessions(stores, namespace)
            try:
                self.analytics = await asyncio.to_thread(analytics_actor.get_or_create, stores, namespace)
            except Exception as exc:  # a control plane without dashboards is still a control plane
                self.error = f"analytics actor: {type(exc).__name__}: {exc}"
                log.error("sessions: %s", self.error)
        else:
            self.error = "Ray is not connected: hands, modes and follow-me are unavailable"

    async def stop(self) -> None:
        # Both are detached and shared with other replicas: shards exit when idle, analytics lives with the cluster.
        self.plane = None

    async def check(self) -> Health:
        if self.plane is None:
            return Health(False, self.error or "not started")
        kind = "ray shards" if isinstance(self.plane, RaySessions) else "in-process"
        return Health(self.error is None, self.error or kind)

    async def snapshot(self, class_id: str) -> dict[str, Any]:
        if self.analytics is None:
            raise Unavailable("analytics is unavailable: " + (self.error or "not started"))
        if not self.plane_is_ray:
            local: dict[str, Any] = await self.analytics.snapshot(class_id)
            return local
        from ray.exceptions import RayError

        try:
            found: dict[str, Any] = await self.analytics.snapshot.remote(class_id)
        except RayError as exc:  # restarting after a crash, or Ray itself is gone
            log.warning("analytics snapshot failed: %s", exc)
            raise Unavailable("analytics is restarting; try again in a moment") from None
        return found

    @property
    def plane_is_ray(self) -> bool:
        return isinstance(self.plane, RaySessions)


def install(app: Starlette, settings: Settings, parts: list[Component]) -> None:
    """Add the control-plane component (after Ray, whose connection it uses) and expose it to the routes."""
    control = ControlPlane(settings)
    parts.append(control)
    app.state.control_plane = control


def warm_of(app: Starlette) -> Callable[[str], None]:
    """Start the shard of a class whose page just connected (see :meth:`ControlPlane.warm`)."""

    def warm(class_id: str) -> None:
        control: ControlPlane = app.state.control_plane
        control.warm(class_id)

    return warm


def stuck_of(app: Starlette) -> Callable[[str], Awaitable[list[dict[str, Any]]]]:
    """The analytics actor's stuck students of a class, as JSON (the live grid's "stuck" badges)."""

    async def stuck(class_id: str) -> list[dict[str, Any]]:
        control: ControlPlane = app.state.control_plane
        out = AnalyticsOut.of(await control.snapshot(class_id)).model_dump(mode="json")
        found: list[dict[str, Any]] = out["stuck"]
        return found

    return stuck
