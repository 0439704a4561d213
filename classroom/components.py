"""The background resources the app owns, each a small component with a start, a stop and a health check.

The lifespan (:mod:`classroom.app`) starts components in order and stops them in reverse, each stop bounded in
time, so SIGTERM/SIGINT shut the server down cleanly. ``/readyz`` asks each component's :meth:`check`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from piccolo.engine.base import Engine

from classroom import db
from classroom.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    ok: bool
    reason: str
    detail: dict[str, Any] | None = None


class Component(Protocol):
    """A resource of the app. ``required`` components make ``/readyz`` answer 503 when they are down."""

    name: str
    required: bool

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def check(self) -> Health: ...


class Database:
    """The database engine: migrated and pooled at start."""

    name = "database"
    required = True

    def __init__(self, settings: Settings) -> None:
        self.engine: Engine[Any] = db.engine_from_url(settings.database_url)
        self.kind = "postgresql" if settings.is_postgres else "sqlite"

    async def start(self) -> None:
        await db.start(self.engine)
        ran = await db.migrate(self.engine)
        if ran:
            log.info("database: applied migrations %s", ", ".join(ran))

    async def stop(self) -> None:
        await db.stop(self.engine)

    async def check(self) -> Health:
        try:
            await asyncio.wait_for(db.ping(self.engine), timeout=3)
        except Exception as exc:  # any failure of the ping is a reason to report, not to crash readyz
            return Health(False, f"{self.kind}: {exc or type(exc).__name__}")
        return Health(True, self.kind)


class Redis:
    """The optional Redis connection (cross-replica fan-out, shared rate limits)."""

    name = "redis"
    required = True

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self.url = url
        self.client: aioredis.Redis = aioredis.Redis.from_url(url)

    async def start(self) -> None:
        await self.check()  # a first contact; failures show in /readyz rather than refusing to start

    async def stop(self) -> None:
        await self.client.aclose()

    async def check(self) -> Health:
        try:
            await asyncio.wait_for(self.client.ping(), timeout=3)
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")
        return Health(True, "pong")


def _reclaim_sigterm() -> None:
    """Give SIGTERM back to the server's own handler after Ray started in this process.

    Ray's C++ failure handler (absl) takes SIGTERM over when its core worker starts: it logs the signal, hands
    it on, and leaves a 3 s alarm armed whose handler aborts the process. A graceful shutdown (draining
    connections, flushing rooms, closing the slots' sandboxes) takes longer than that on a loaded host, so
    SIGTERM ended in SIGABRT. Python still holds uvicorn's handler; installing it again replaces absl's.
    Only the main thread may install handlers (a test's app runs its lifespan elsewhere: nothing to reclaim).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    handler = signal.getsignal(signal.SIGTERM)
    if callable(handler):
        signal.signal(signal.SIGTERM, handler)


class Ray:
    """The Ray connection: a local Ray started in this process, or an existing cluster joined.

    Ready when Ray answers and some node offers a ``sandbox_slot`` (with ``CLASSROOM_EXECUTION=cluster`` those
    are the worker nodes', whose ``classroom worker`` self-tested their sandbox before offering them).
    """

    name = "ray"
    required = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.error: str | None = None

    async def start(self) -> None:
        from actors import cluster

        try:
            await asyncio.to_thread(
                cluster.connect,
                self.settings.ray_address,
                self.settings.ray_namespace,
                slots=self.settings.sandbox_slots,
                edge=self.settings.execution == "cluster",
            )
        except Exception as exc:
            # The web edge still serves rooms without Ray; runs will answer 503 and /readyz says why.
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("ray: could not connect: %s", self.error)
        _reclaim_sigterm()

    async def stop(self) -> None:
        from actors import cluster

        await asyncio.to_thread(cluster.disconnect)

    async def check(self) -> Health:
        from actors import cluster

        if self.error:
            return Health(False, self.error)
        try:
            found = await asyncio.to_thread(cluster.info)
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")
        if found.slots <= 0:
            return Health(
                False, "no node offers a sandbox_slot: start one with `classroom worker`", {"nodes": found.nodes}
            )
        return Health(
            True,
            f"{found.nodes} node(s), {found.slots:g} sandbox slot(s)",
            {"nodes": found.nodes, "slots": found.slots, "cpus": found.cpus},
        )


class Sandbox:
    """This node's sandbox backend: the confinement self-test runs in the background at start.

    Until it finishes, ``/readyz`` says so; if no backend passes, runs cannot be served and the reason is
    reported (never an unsandboxed fallback).
    """

    name = "sandbox"
    required = True

    def __init__(self, settings: Settings) -> None:
        self.choice = settings.sandbox_backend
        self.data_dir = settings.data_dir  # guarded by the self-test's canaries: no box may see it
        self.task: asyncio.Task[None] | None = None
        self.health = Health(False, "confinement self-test running")

    async def start(self) -> None:
        self.task = asyncio.create_task(self._probe(), name="sandbox-self-test")

    async def _probe(self) -> None:
        import execution

        try:
            backend = await execution.resolve_backend(self.choice)
            report = await execution.self_test(backend, guard=(self.data_dir,))
        except Exception as exc:
            self.health = Health(False, f"{type(exc).__name__}: {exc}")
            return
        if report.ok:
            self.health = Health(
                True, f"{backend.name}: self-test passed", {"backend": backend.name, **report.cgroup_limits}
            )
        else:
            self.health = Health(False, f"{backend.name}: self-test failed: " + "; ".join(report.failures))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def check(self) -> Health:
        return self.health
