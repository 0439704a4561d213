"""Our maxima of a run's limits, and clamping a client's asked limits to them.

API clients (the Judge0 and Piston compatible APIs) send per-request limits in their own units. A limit above our
maximum is *clamped* to it and reported back, never refused and never obeyed; a missing, zero or negative one
means our maximum. The slot applies them with :meth:`execution.types.Limits.lowered`, which can only tighten.
"""

from __future__ import annotations

from dataclasses import dataclass

from classroom.settings import Settings

MIB = 1024 * 1024


@dataclass(frozen=True)
class Maxima:
    """The most a run may get: the server's default limits (``CLASSROOM_RUN_*``)."""

    wall_seconds: float
    cpu_seconds: float
    memory_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> Maxima:
        return cls(float(settings.run_wall_seconds), float(settings.run_cpu_seconds), settings.run_memory_mb * MIB)


@dataclass(frozen=True)
class Clamped:
    """One limit a client asked above our maximum: what it asked and what it gets (in the client's units)."""

    name: str
    asked: float
    used: float

    def header(self) -> str:
        return f"{self.name}={self.used:.15g};asked={self.asked:.15g}"


def clamp(name: str, asked: float | None, maximum: float, clamped: list[Clamped]) -> float:
    """``asked`` bounded by ``maximum`` (both in the client's units); no positive value asked gives the maximum.
    An asked value above the maximum is appended to ``clamped``."""
    if asked is None or asked <= 0:
        return maximum
    if asked > maximum:
        clamped.append(Clamped(name, asked, maximum))
        return maximum
    return asked


def clamped_header(clamped: list[Clamped]) -> dict[str, str]:
    """The ``X-Classroom-Clamped`` response header naming every clamped limit (none: no header)."""
    return {"X-Classroom-Clamped": ", ".join(c.header() for c in clamped)} if clamped else {}
