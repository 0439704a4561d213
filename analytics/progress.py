"""The per-student and per-error counters that a class aggregate is made of, and the "stuck" heuristic.

Each counter applies one :class:`~analytics.outcome.Outcome` at a time and round-trips through a JSON-ready dict
(the analytics actor persists that dict in ``AnalyticsAggregate.data`` and reloads it after a restart), so the
dict layout is a stored format: add keys with defaults, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from analytics.outcome import Outcome


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class StuckRule:
    """A student is stuck on an exercise they have not solved when either limit is reached.

    ``failures_in_a_row`` consecutive failed attempts, or ``minutes_without_success`` since their first attempt
    while still active (a run within ``active_minutes``): someone who left an hour ago is not stuck, just gone.
    """

    failures_in_a_row: int = 3
    minutes_without_success: float = 10.0
    active_minutes: float = 15.0


@dataclass
class StudentProgress:
    """One student on one exercise: attempts, failures, streak, timing and whether they solved it."""

    attempts: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    solved_at: datetime | None = None
    gap_seconds_total: float = 0.0
    gaps: int = 0
    last_error: str | None = None

    def apply(self, outcome: Outcome) -> None:
        """Count an attempt (the caller skips outcomes that are not attempts)."""
        at = outcome.finished_at
        if self.last_at is not None:
            # Outcomes of one student can arrive slightly out of order (two slots): never count a negative gap.
            self.gap_seconds_total += max(0.0, (at - self.last_at).total_seconds())
            self.gaps += 1
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)
        self.attempts += 1
        if outcome.passed:
            self.consecutive_failures = 0
            self.solved_at = self.solved_at or at
        else:
            self.failures += 1
            self.consecutive_failures += 1
            self.last_error = outcome.error_key or outcome.verdict

    @property
    def mean_seconds_between_runs(self) -> float | None:
        return None if self.gaps == 0 else round(self.gap_seconds_total / self.gaps, 1)

    def stuck_reason(self, now: datetime, rule: StuckRule) -> str | None:
        """Why this student counts as stuck under ``rule``, or None."""
        if self.solved_at is not None or self.first_at is None or self.last_at is None:
            return None
        if self.consecutive_failures >= rule.failures_in_a_row:
            return f"{self.consecutive_failures} failed runs in a row"
        still_active = now - self.last_at <= timedelta(minutes=rule.active_minutes)
        trying_for = now - self.first_at
        if still_active and trying_for >= timedelta(minutes=rule.minutes_without_success):
            return f"no success in {int(trying_for.total_seconds() // 60)} minutes"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
            "first_at": _iso(self.first_at),
            "last_at": _iso(self.last_at),
            "solved_at": _iso(self.solved_at),
            "gap_seconds_total": self.gap_seconds_total,
            "gaps": self.gaps,
            "last_error": self.last_error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudentProgress:
        return cls(
            attempts=int(data.get("attempts", 0)),
            failures=int(data.get("failures", 0)),
            consecutive_failures=int(data.get("consecutive_failures", 0)),
            first_at=_time(data.get("first_at")),
            last_at=_time(data.get("last_at")),
            solved_at=_time(data.get("solved_at")),
            gap_seconds_total=float(data.get("gap_seconds_total", 0.0)),
            gaps=int(data.get("gaps", 0)),
            last_error=data.get("last_error"),
        )


@dataclass
class ErrorCluster:
    """Every failure of one exercise with the same key (type + normalised message + line)."""

    key: str
    error_type: str
    message: str
    line: int | None
    example: str = ""  # the first raw message seen, to show an instructor what the placeholders stood for
    count: int = 0
    users: set[str] = field(default_factory=set)
    last_at: datetime | None = None

    def apply(self, outcome: Outcome) -> None:
        self.count += 1
        self.users.add(str(outcome.user_id))
        self.example = self.example or (outcome.error_message or "")[:300]
        self.last_at = outcome.finished_at if self.last_at is None else max(self.last_at, outcome.finished_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.error_type,
            "message": self.message,
            "line": self.line,
            "example": self.example,
            "users": sorted(self.users),
            "last_at": _iso(self.last_at),
        }

    @classmethod
    def from_dict(cls, key: str, count: int, data: dict[str, Any]) -> ErrorCluster:
        line = data.get("line")
        return cls(
            key=key,
            error_type=str(data.get("type", "")),
            message=str(data.get("message", "")),
            line=None if line is None else int(line),
            example=str(data.get("example", "")),
            count=count,
            users=set(data.get("users", [])),
            last_at=_time(data.get("last_at")),
        )
