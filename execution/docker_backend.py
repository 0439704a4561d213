"""``docker`` backend (work in progress)."""

from __future__ import annotations

from execution.errors import BackendUnavailable
from execution.protocol import Sandbox
from execution.types import Limits


class DockerBackend:
    name = "docker"
    strength = 1

    def unavailable_reason(self) -> tuple[str, str] | None:
        return "not implemented yet", ""

    def sandbox(self, limits: Limits, language: str = "python") -> Sandbox:
        raise BackendUnavailable(self.name, "not implemented yet")
