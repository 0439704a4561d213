"""The per-student and per-error counters that a class aggregate is made of, and the "stuck" heuristic.

Each counter applies one :class:`~analytics.outcome.Outcome` at a time and round-trips through a JSON-ready dict
(the analytics actor persists that dict in ``AnalyticsAggregate.data`` and reloads it after a restart), so the
dict layout is a stored format: add keys with defaults, never rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from analytics.outcome import Outcome

MAX_MINUTES = 24 * 60  # per-minute counters kept per row: a day of teaching


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def minute_of(at: datetime) -> str:
    """The counter key of the minute ``at`` falls in (UTC, ISO 8601 to the minute)."""
    return at.replace(second=0, microsecond=0).isoformat()


def count_minute(minutes: dict[str, int], at: datetime) -> None:
    key = minute_of(at)
    minutes[key] = minutes.get(key, 0) + 1
    if len(minutes) > MAX_MINUTES:
        del minutes[min(minutes)]


@dataclass(frozen=True)
class StuckRule:
    """A student is stuck on the exercise they are working on (their latest), not solved yet, when:

    - ``failures_in_a_row`` consecutive failing runs or checks, or
    - silence: no run or check for ``silent_minutes`` (but less than ``active_minutes``: someone who left an
      hour ago is not stuck, just gone), or
    - ``minutes_without_success`` since their first attempt while still active.
    """

    failures_in_a_row: int = 3
    silent_minutes: float = 5.0
    minutes_without_success: float = 15.0
    active_minutes: float = 30.0


@dataclass
class StudentProgress:
    """One student on one exercise: attempts, failures, streak, checks, timing and whether they solved it."""

    attempts: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    solved_at: datetime | None = None
    gap_seconds_total: float = 0.0
    gaps: int = 0
    last_error: str | None = None
    attempts_to_solve: int | None = None
    checks: int = 0
    best_score: float | None = None
    room_id: str | None = None

    def apply(self, outcome: Outcome) -> None:
        """Count an attempt (the caller skips outcomes that are not attempts)."""
        at = outcome.finished_at
        if self.last_at is not None:
            # Outcomes of one student can arrive slightly out of order (two slots): never count a negative gap.
            self.gap_seconds_total += max(0.0, (at - self.last_at).total_seconds())
            self.gaps += 1
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        if self.last_at is None or at >= self.last_at:
            self.last_at = at
            self.room_id = str(outcome.room_id) if outcome.room_id else self.room_id
        self.attempts += 1
        if outcome.kind == "grade":
            self.checks += 1
            if outcome.score is not None:
                self.best_score = max(self.best_score or 0.0, outcome.score)
        if outcome.passed:
            self.consecutive_failures = 0
            if self.solved_at is None:
                self.solved_at, self.attempts_to_solve = at, self.attempts
        elif outcome.failed:
            self.failures += 1
            self.consecutive_failures += 1
            if outcome.error_key:
                self.last_error = outcome.error_key
            elif outcome.kind == "grade" and outcome.verdict == "ok":
                self.last_error = f"check: {round((outcome.score or 0) * 100)}% of the points"
            else:
                self.last_error = outcome.verdict
        else:
            self.consecutive_failures = 0  # it ran without an error: past whatever failed before

    @property
    def mean_seconds_between_runs(self) -> float | None:
        return None if self.gaps == 0 else round(self.gap_seconds_total / self.gaps, 1)

    def stuck_reason(self, now: datetime, rule: StuckRule) -> str | None:
        """Why this student counts as stuck on this exercise under ``rule``, or None."""
        if self.solved_at is not None or self.first_at is None or self.last_at is None:
            return None
        if self.consecutive_failures >= rule.failures_in_a_row:
            return f"{self.consecutive_failures} failing runs or checks in a row"
        idle = now - self.last_at
        if idle > timedelta(minutes=rule.active_minutes):
            return None
        if idle >= timedelta(minutes=rule.silent_minutes):
            return f"no run or check for {int(idle.total_seconds() // 60)} minutes, not solved"
        trying_for = now - self.first_at
        if trying_for >= timedelta(minutes=rule.minutes_without_success):
            return f"{int(trying_for.total_seconds() // 60)} minutes on it without solving it"
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
            "attempts_to_solve": self.attempts_to_solve,
            "checks": self.checks,
            "best_score": self.best_score,
            "room_id": self.room_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudentProgress:
        solve = data.get("attempts_to_solve")
        best = data.get("best_score")
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
            attempts_to_solve=None if solve is None else int(solve),
            checks=int(data.get("checks", 0)),
            best_score=None if best is None else float(best),
            room_id=data.get("room_id"),
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
    rooms: dict[str, str] = field(default_factory=dict)  # user -> the room of their latest failure here
    minutes: dict[str, int] = field(default_factory=dict)  # occurrences per minute (see minute_of)

    def apply(self, outcome: Outcome) -> None:
        self.count += 1
        user = str(outcome.user_id)
        self.users.add(user)
        if outcome.room_id is not None:
            self.rooms[user] = str(outcome.room_id)
        self.example = self.example or (outcome.error_message or "")[:300]
        self.last_at = outcome.finished_at if self.last_at is None else max(self.last_at, outcome.finished_at)
        count_minute(self.minutes, outcome.finished_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.error_type,
            "message": self.message,
            "line": self.line,
            "example": self.example,
            "users": sorted(self.users),
            "last_at": _iso(self.last_at),
            "rooms": self.rooms,
            "minutes": self.minutes,
        }

    @classmethod
    def from_dict(cls, key: str, count: int, data: Mapping[str, Any]) -> ErrorCluster:
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
            rooms={str(k): str(v) for k, v in dict(data.get("rooms", {})).items()},
            minutes={str(k): int(v) for k, v in dict(data.get("minutes", {})).items()},
        )
