"""Pre-warmed single-use sandboxes: K sandboxes wait with the interpreter loaded; a run takes one, the
sandbox is destroyed after that run, and a fresh one warms in the background. Nothing can leak between runs
because nothing is ever reused.

Life cycle: ``async with WarmPool(...) as pool`` (or ``await pool.start()`` ... ``await pool.close()``).
``start()`` runs the backend's confinement self-test first and raises
:class:`~execution.errors.ConfinementError` if it fails: a pool never serves from an unconfined backend.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from execution.errors import ConfinementError, PoolClosed
from execution.protocol import Backend, Sandbox
from execution.types import Limits, OnChunk, RunResult, RunSpec

log = logging.getLogger(__name__)


@dataclass
class PoolStats:
    warm_hits: int = 0
    cold_starts: int = 0
    warm_failures: int = 0


class WarmPool:
    """Keeps ``size`` warm sandboxes of ``backend`` for runs with exactly ``limits`` and ``language``.

    A run whose limits or language differ gets a cold sandbox (same confinement, just slower).
    ``acquire()`` hands out a started sandbox that is closed when the ``async with`` ends.
    """

    def __init__(
        self,
        backend: Backend | str = "auto",
        size: int = 2,
        limits: Limits | None = None,
        language: str = "python",
        self_test: bool = True,
    ) -> None:
        if size < 0:
            raise ValueError("pool size must be >= 0")
        self._backend_arg = backend
        self.backend: Backend | None = backend if not isinstance(backend, str) else None
        self.size = size
        self.limits = limits or Limits()
        self.language = language
        self.self_test = self_test
        self.stats = PoolStats()
        self._ready: collections.deque[Sandbox] = collections.deque()
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._filler: asyncio.Task[None] | None = None
        self._closed = False
        self._closing: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> WarmPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        from execution.probe import resolve_backend
        from execution.selftest import self_test

        self.backend = await resolve_backend(self._backend_arg)
        await self._reap_stale()
        if self.self_test:
            report = await self_test(self.backend)
            if not report.ok:
                raise ConfinementError(f"{self.backend.name}: self-test failed: {'; '.join(report.failures)}")
        self._filler = asyncio.create_task(self._fill(), name=f"warm-pool-{self.backend.name}")

    async def close(self) -> None:
        self._closed = True
        if self._filler is not None:
            self._filler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._filler
            self._filler = None
        while self._ready:
            await self._ready.popleft().close()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        await self._reap_stale()

    async def _reap_stale(self) -> None:
        """Remove what dead server processes left behind (containers, cgroup folders of every hierarchy);
        never anything of a live one. Runs at start and at stop."""
        reap = getattr(self.backend, "reap_stale", None)
        if not callable(reap):
            return
        try:
            removed = await asyncio.to_thread(reap)
        except Exception as e:  # a sweep that fails must not stop the pool from starting or closing
            log.warning("warm pool: could not sweep stale sandboxes: %s", e)
            return
        if removed:
            log.info(
                "warm pool %s: removed %d stale sandbox leftovers", getattr(self.backend, "name", "?"), len(removed)
            )

    @property
    def warm(self) -> int:
        return len(self._ready)

    async def wait_warm(self, count: int | None = None) -> None:
        """Wait until ``count`` (default: ``size``) sandboxes are warm (bound it with ``asyncio.timeout``)."""
        want = self.size if count is None else count
        async with self._changed:
            await self._changed.wait_for(lambda: len(self._ready) >= want)

    async def _fill(self) -> None:
        """Reconcile: keep ``size`` warm sandboxes; survive failures with back-off; never die."""
        backoff = 0.1
        assert self.backend is not None
        while not self._closed:
            while self._ready and not _alive(self._ready[0]):
                await self._ready.popleft().close()
            if len(self._ready) >= self.size:
                self._wake.clear()
                await self._wake.wait()
                continue
            sandbox = self.backend.sandbox(self.limits, self.language)
            try:
                await sandbox.start()
            except asyncio.CancelledError:
                await sandbox.close()
                raise
            except Exception as e:
                self.stats.warm_failures += 1
                log.warning("warm pool %s: could not warm a sandbox: %s", self.backend.name, e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.1
            async with self._changed:
                self._ready.append(sandbox)
                self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def acquire(self, limits: Limits | None = None, language: str | None = None) -> AsyncIterator[Sandbox]:
        """A started, single-use sandbox, destroyed (all processes, all files) when the block ends.

        Destruction runs in the background (``close()`` of the pool awaits it); the program's own processes
        are already dead when ``run()`` returns.
        """
        if self._closed or self.backend is None:
            raise PoolClosed("the pool is closed or not started")
        limits = limits or self.limits
        language = language or self.language
        sandbox: Sandbox | None = None
        if limits == self.limits and language == self.language:
            while self._ready:
                candidate = self._ready.popleft()
                if _alive(candidate):
                    sandbox = candidate
                    self.stats.warm_hits += 1
                    break
                await candidate.close()
        if sandbox is None:
            self.stats.cold_starts += 1
            sandbox = self.backend.sandbox(limits, language)
            await sandbox.start()
        try:
            yield sandbox
        finally:
            # The run already killed the program's processes; tearing the box down (launcher, cgroup,
            # container) happens in the background so the result is not kept waiting for it.
            task = asyncio.create_task(self._destroy(sandbox))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _destroy(self, sandbox: Sandbox) -> None:
        try:
            await sandbox.close()
        except Exception as e:
            log.warning("warm pool: could not destroy a sandbox: %s", e)
        finally:
            # Refill only now: warming a sandbox (several process starts) must not compete with the run
            # for the CPU. Under load the pool drains and runs start cold, which is still confined.
            self._wake.set()

    async def run(self, spec: RunSpec, on_chunk: OnChunk | None = None) -> RunResult:
        """Run ``spec`` in a fresh sandbox (warm if one matches) and destroy it."""
        async with self.acquire(spec.limits, spec.language) as sandbox:
            return await sandbox.run(spec, on_chunk)


def _alive(sandbox: Sandbox) -> bool:
    alive = getattr(sandbox, "alive", None)
    return bool(alive()) if callable(alive) else True
