"""The two plug points of the engine: a :class:`Backend` makes :class:`Sandbox` es; a sandbox runs once.

States of a sandbox: *new* -> ``start()`` -> *warm* (confined, interpreter loaded, waiting for code) ->
``run()`` -> *finished* -> ``close()`` -> *closed*. ``close()`` is valid from every state, idempotent, and
afterwards no process and no file of the sandbox exist. ``async with sandbox:`` = ``start()`` ... ``close()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from execution.types import Limits, OnChunk, RunResult, RunSpec


@runtime_checkable
class Sandbox(Protocol):
    """One single-use confined process tree.

    Contract:
    - ``start()`` brings the sandbox to *warm*; raises :class:`~execution.errors.SandboxError` if it cannot.
    - ``run(spec, on_chunk)`` may be called once, on a warm sandbox whose ``limits`` equal ``spec.limits``
      (else :class:`~execution.errors.SandboxStateError`). It streams output chunks to ``on_chunk`` as they
      come and returns a :class:`RunResult`. Timeouts, OOM, crashes, output floods and cancellation are
      verdicts in the result, never exceptions. When it returns, every process of the program has been
      killed (SIGKILL, and no new one can be forked); ``close()`` reaps them and removes the box.
    - ``send_stdin`` / ``close_stdin`` feed a running program (``spec.stdin_open``); after the program ended
      they do nothing.
    - ``cancel()`` may be called from anywhere at any time; a running program is killed and the result's
      verdict is ``cancelled``.
    """

    limits: Limits

    async def start(self) -> None: ...

    async def run(self, spec: RunSpec, on_chunk: OnChunk | None = None) -> RunResult: ...

    async def send_stdin(self, data: str | bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    def cancel(self) -> None: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Sandbox: ...

    async def __aexit__(self, *exc: object) -> None: ...


@dataclass
class SelfTestReport:
    """What a backend's confinement self-test found. ``ok`` means it may serve."""

    ok: bool
    checks: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    cgroup_limits: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A way to make sandboxes (``bwrap``, ``nsjail``, ``docker``), registered by ``name``.

    Contract:
    - ``unavailable_reason()`` is cheap and does no confinement check: ``None`` if the backend's pieces are
      present, else ``(reason, fix)``.
    - ``sandbox(limits, language)`` returns a *new* (not started) sandbox.
    - ``leftovers()`` lists what of ours still exists (a leak check for tests and ``classroom doctor``).
    - ``strength``: higher is stronger isolation; ``auto`` prefers the strongest that passes its self-test.
    """

    name: str
    strength: int

    def unavailable_reason(self) -> tuple[str, str] | None: ...

    def sandbox(self, limits: Limits, language: str = "python") -> Sandbox: ...

    def leftovers(self, owner: int | None = None) -> list[str]:
        """Resources of ours that exist now (cgroups, containers), of server process ``owner`` if given:
        empty once every sandbox of that process is closed."""
        ...
