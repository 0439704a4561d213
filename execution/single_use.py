"""What every sandbox shares: the single-use life cycle and the stop signal of its one run.

States: *new* → ``start()`` → *warm* → ``run()`` → *running* → *finished* → ``close()`` → *closed* (see
:mod:`execution.protocol`). A subclass implements ``start``, ``run`` and ``close``; it opens ``run`` with
:meth:`SingleUse._begin_run` and ends it when ``_stop`` is set, with ``_reason`` as the verdict that stopped it.
"""

from __future__ import annotations

import asyncio
from typing import Self

from execution.errors import SandboxStateError
from execution.types import Limits, RunSpec, Verdict


class SingleUse:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._state = "new"
        self._stop = asyncio.Event()
        self._reason: Verdict | None = None

    @property
    def state(self) -> str:
        return self._state

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def cancel(self) -> None:
        self._stop_with(Verdict.CANCELLED)

    def _stop_with(self, reason: Verdict) -> None:
        """Stop the run (the first reason wins: a timeout that lands after a cancel stays a cancel)."""
        if self._reason is None:
            self._reason = reason
        self._stop.set()

    def _begin_run(self, spec: RunSpec) -> None:
        """The one run may start: the sandbox is warm and the spec fits the limits it was made for."""
        if self._state != "warm":
            raise SandboxStateError(f"run() on a {self._state} sandbox")
        if spec.limits != self.limits:
            raise SandboxStateError("the spec's limits differ from the sandbox's")
        self._state = "running"
