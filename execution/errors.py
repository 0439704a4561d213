"""Our own failures, as a small typed tree. A user's program failing is a verdict, never one of these."""

from __future__ import annotations


class ExecutionError(Exception):
    """Base of every error the execution engine raises."""


class BackendUnavailable(ExecutionError):
    """The backend cannot run here (missing binary, no cgroups, no daemon); ``fix`` says what to do."""

    def __init__(self, backend: str, reason: str, fix: str = "") -> None:
        super().__init__(f"{backend}: {reason}" + (f" (fix: {fix})" if fix else ""))
        self.backend = backend
        self.reason = reason
        self.fix = fix


class ConfinementError(ExecutionError):
    """The start-up self-test found that confinement does not hold; the backend refuses to serve."""


class UnknownBackend(ExecutionError):
    """No backend of that name is registered."""


class UnknownLanguage(ExecutionError):
    """No language of that name is defined under ``execution/languages``."""


class SandboxError(ExecutionError):
    """A sandbox failed on our side (could not start, died before the run, protocol broken)."""


class SandboxStateError(SandboxError):
    """A sandbox was used against its lifecycle (run twice, run before start, used after close)."""


class PoolClosed(ExecutionError):
    """The warm pool is closed or was never started."""
