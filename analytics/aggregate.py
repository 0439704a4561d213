"""A class's aggregates per exercise: runs, failures, error clusters and each student's progress; the snapshot.

:class:`ClassAggregate` is the in-memory state the analytics actor keeps per class. It applies outcomes,
reports which rows changed (so only those are written), converts to and from :class:`AggregateRow` (the shape of
an ``AnalyticsAggregate`` row), and renders the JSON-ready :meth:`ClassAggregate.snapshot` that dashboards read.

Row layout: per exercise one row with ``error_key=None`` whose ``data`` holds ``{"students": {user_id: progress}}``,
plus one row per error cluster of that exercise. Runs without an exercise aggregate under ``exercise=None``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analytics.normalise import normalise_message
from analytics.outcome import Outcome
from analytics.progress import ErrorCluster, StuckRule, StudentProgress

TOP_ERRORS = 5
RowKey = tuple[str | None, str | None]  # (exercise, error_key)


@dataclass(frozen=True)
class AggregateRow:
    exercise: str | None
    error_key: str | None
    runs: int
    failures: int
    users: int
    data: dict[str, Any]


@dataclass
class ExerciseStats:
    runs: int = 0
    failures: int = 0
    students: dict[str, StudentProgress] = field(default_factory=dict)
    errors: dict[str, ErrorCluster] = field(default_factory=dict)

    def summary(self, now: datetime, rule: StuckRule) -> dict[str, Any]:
        solved = [p for p in self.students.values() if p.solved_at is not None]
        gaps = [p.mean_seconds_between_runs for p in self.students.values() if p.gaps]
        top = sorted(self.errors.values(), key=lambda c: (-c.count, c.key))[:TOP_ERRORS]
        return {
            "runs": self.runs,
            "failures": self.failures,
            "pass_rate": None if self.runs == 0 else round((self.runs - self.failures) / self.runs, 3),
            "students": len(self.students),
            "solved": len(solved),
            "median_attempts_to_solve": statistics.median(p.attempts for p in solved) if solved else None,
            "mean_seconds_between_runs": round(statistics.fmean(g for g in gaps if g is not None), 1) if gaps else None,
            "stuck": sum(1 for p in self.students.values() if p.stuck_reason(now, rule)),
            "top_errors": [
                {
                    "key": c.key,
                    "type": c.error_type,
                    "message": c.message,
                    "line": c.line,
                    "count": c.count,
                    "students": len(c.users),
                    "example": c.example,
                }
                for c in top
            ],
        }


class ClassAggregate:
    """Everything analytics knows about one class. Not thread-safe: one writer (the analytics actor)."""

    def __init__(self, class_id: str) -> None:
        self.class_id = class_id
        self.exercises: dict[str | None, ExerciseStats] = {}

    def apply(self, outcome: Outcome) -> set[RowKey]:
        """Count one outcome; return the rows it changed (empty for outcomes that are not attempts)."""
        if not outcome.counts:
            return set()
        stats = self.exercises.setdefault(outcome.exercise, ExerciseStats())
        stats.runs += 1
        if not outcome.passed:
            stats.failures += 1
        stats.students.setdefault(str(outcome.user_id), StudentProgress()).apply(outcome)
        touched: set[RowKey] = {(outcome.exercise, None)}
        key = outcome.error_key
        if key is not None and not outcome.passed:
            cluster = stats.errors.get(key)
            if cluster is None:
                cluster = ErrorCluster(
                    key, outcome.error_type or "", normalise_message(outcome.error_message), outcome.error_line
                )
                stats.errors[key] = cluster
            cluster.apply(outcome)
            touched.add((outcome.exercise, key))
        return touched

    def row(self, key: RowKey) -> AggregateRow:
        exercise, error_key = key
        stats = self.exercises[exercise]
        if error_key is None:
            students = {uid: p.to_dict() for uid, p in stats.students.items()}
            return AggregateRow(exercise, None, stats.runs, stats.failures, len(students), {"students": students})
        c = stats.errors[error_key]
        return AggregateRow(exercise, error_key, c.count, c.count, len(c.users), c.to_dict())

    def rows(self) -> list[AggregateRow]:
        keys: list[RowKey] = []
        for exercise, stats in self.exercises.items():
            keys.append((exercise, None))
            keys.extend((exercise, k) for k in stats.errors)
        return [self.row(k) for k in keys]

    @classmethod
    def from_rows(cls, class_id: str, rows: list[AggregateRow]) -> ClassAggregate:
        found = cls(class_id)
        for row in rows:
            stats = found.exercises.setdefault(row.exercise, ExerciseStats())
            if row.error_key is None:
                stats.runs, stats.failures = row.runs, row.failures
                students = row.data.get("students", {})
                stats.students = {uid: StudentProgress.from_dict(p) for uid, p in students.items()}
            else:
                stats.errors[row.error_key] = ErrorCluster.from_dict(row.error_key, row.runs, row.data)
        return found

    def snapshot(self, now: datetime, rule: StuckRule | None = None) -> dict[str, Any]:
        """The dashboard view: totals, each exercise's summary, and the stuck students (longest streak first)."""
        rule = rule or StuckRule()
        exercises: list[dict[str, Any]] = []
        stuck: list[dict[str, Any]] = []
        students: set[str] = set()
        for exercise, stats in sorted(self.exercises.items(), key=lambda kv: kv[0] or ""):
            exercises.append({"exercise": exercise, **stats.summary(now, rule)})
            students.update(stats.students)
            for uid, p in stats.students.items():
                reason = p.stuck_reason(now, rule)
                if reason:
                    stuck.append(
                        {
                            "user_id": uid,
                            "exercise": exercise,
                            "reason": reason,
                            "attempts": p.attempts,
                            "consecutive_failures": p.consecutive_failures,
                            "last_error": p.last_error,
                            "last_run_at": p.last_at.isoformat() if p.last_at else None,
                        }
                    )
        stuck.sort(key=lambda s: (-int(s["consecutive_failures"]), str(s["user_id"])))
        return {
            "class_id": self.class_id,
            "generated_at": now.isoformat(),
            "totals": {
                "runs": sum(s.runs for s in self.exercises.values()),
                "failures": sum(s.failures for s in self.exercises.values()),
                "students": len(students),
            },
            "exercises": exercises,
            "stuck": stuck,
        }
