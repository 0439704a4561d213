"""A class's aggregates per exercise: runs, failures, error clusters and each student's progress; the snapshot.

:class:`ClassAggregate` is the in-memory state the analytics actor keeps per class. It applies outcomes,
reports which rows changed (so only those are written), converts to and from :class:`AggregateRow` (the shape of
an ``AnalyticsAggregate`` row), and renders the JSON-ready :meth:`ClassAggregate.snapshot` that dashboards read.

Row layout: per exercise one row with ``error_key=None`` whose ``data`` holds ``{"students": {user_id: progress},
"minutes": {minute: runs}}``, plus one row per error cluster of that exercise. Runs without an exercise aggregate
under ``exercise=None``. Only the students' outcomes are applied: the actor drops the instructors' (and
:meth:`ClassAggregate.snapshot` shows only the people it is given names of, when it is given names).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from analytics.normalise import normalise_message
from analytics.outcome import Outcome
from analytics.progress import ErrorCluster, StuckRule, StudentProgress, count_minute, minute_of

TOP_ERRORS = 5
TOP_CLUSTERS = 10
TIMELINE_MINUTES = 180  # the dashboard's session view: at most the last three hours, one bucket a minute
# ... and at least the last quarter hour: a class's first minute of runs is one bar among fifteen, not a block
# across the whole chart.
TIMELINE_MIN_MINUTES = 15
RowKey = tuple[str | None, str | None]  # (exercise, error_key)


@dataclass(frozen=True)
class AggregateRow:
    exercise: str | None
    error_key: str | None
    runs: int
    failures: int
    users: int
    data: dict[str, Any]


def _cluster_brief(c: ErrorCluster) -> dict[str, Any]:
    return {
        "key": c.key,
        "type": c.error_type,
        "message": c.message,
        "line": c.line,
        "count": c.count,
        "students": len(c.users),
        "example": c.example,
    }


@dataclass
class ExerciseStats:
    runs: int = 0
    failures: int = 0
    students: dict[str, StudentProgress] = field(default_factory=dict)
    errors: dict[str, ErrorCluster] = field(default_factory=dict)
    minutes: dict[str, int] = field(default_factory=dict)

    def summary(self, now: datetime, rule: StuckRule, shown: set[str] | None) -> dict[str, Any]:
        students = {u: p for u, p in self.students.items() if shown is None or u in shown}
        solved = [p for p in students.values() if p.solved_at is not None]
        gaps = [p.mean_seconds_between_runs for p in students.values() if p.gaps]
        top = sorted(self.errors.values(), key=lambda c: (-c.count, c.key))[:TOP_ERRORS]
        to_solve = [p.attempts_to_solve or p.attempts for p in solved]
        histogram = sorted(Counter(to_solve).items())
        return {
            "runs": self.runs,
            "failures": self.failures,
            "checks": sum(p.checks for p in students.values()),
            "pass_rate": None if self.runs == 0 else round((self.runs - self.failures) / self.runs, 3),
            "students": len(students),
            "solved": len(solved),
            "median_attempts_to_solve": statistics.median(to_solve) if to_solve else None,
            "attempts_to_solve": [{"attempts": a, "students": n} for a, n in histogram],
            "mean_seconds_between_runs": round(statistics.fmean(g for g in gaps if g is not None), 1) if gaps else None,
            "stuck": 0,  # filled by the snapshot, which decides each student's current exercise
            "top_errors": [_cluster_brief(c) for c in top],
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
        count_minute(stats.minutes, outcome.finished_at)
        if outcome.failed:
            stats.failures += 1
        stats.students.setdefault(str(outcome.user_id), StudentProgress()).apply(outcome)
        touched: set[RowKey] = {(outcome.exercise, None)}
        key = outcome.error_key
        if key is not None and outcome.failed:
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
            data = {"students": students, "minutes": stats.minutes}
            return AggregateRow(exercise, None, stats.runs, stats.failures, len(students), data)
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
                stats.minutes = {str(k): int(v) for k, v in dict(row.data.get("minutes", {})).items()}
            else:
                stats.errors[row.error_key] = ErrorCluster.from_dict(row.error_key, row.runs, row.data)
        return found

    def snapshot(
        self, now: datetime, rule: StuckRule | None = None, names: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The dashboard view: totals, runs per minute, the class's error clusters ranked (with a per-minute
        sparkline and who is in each), each exercise's summary, and the stuck students with the reason.

        ``names`` (user id -> display name) are the class's students: when given, nobody else is shown or counted.
        A student counts as stuck at most once, on their current exercise (the one they worked on last).
        """
        rule = rule or StuckRule()
        shown = None if names is None else set(names)

        def name(uid: str) -> str:
            return (names or {}).get(uid, uid)

        def visible(uid: str) -> bool:
            return shown is None or uid in shown

        minutes: Counter[str] = Counter()
        for stats in self.exercises.values():
            minutes.update(stats.minutes)
        start = self._timeline_start(minutes, now)
        buckets = [minute_of(start + timedelta(minutes=i)) for i in range(self._span(start, now))]

        def series(counts: Mapping[str, int]) -> list[int]:
            return [int(counts.get(b, 0)) for b in buckets]

        # each student's current exercise: the one with their latest attempt
        current: dict[str, tuple[datetime, str | None]] = {}
        for exercise, stats in self.exercises.items():
            for uid, p in stats.students.items():
                if visible(uid) and p.last_at is not None and (uid not in current or p.last_at > current[uid][0]):
                    current[uid] = (p.last_at, exercise)
        stuck: list[dict[str, Any]] = []
        exercises: list[dict[str, Any]] = []
        clusters: list[tuple[str | None, ErrorCluster]] = []
        for exercise, stats in sorted(self.exercises.items(), key=lambda kv: kv[0] or ""):
            summary = stats.summary(now, rule, shown)
            for uid, p in stats.students.items():
                if uid not in current or current[uid][1] != exercise:
                    continue
                reason = p.stuck_reason(now, rule)
                if reason:
                    summary["stuck"] += 1
                    stuck.append(
                        {
                            "user_id": uid,
                            "name": name(uid),
                            "exercise": exercise,
                            "reason": reason,
                            "attempts": p.attempts,
                            "consecutive_failures": p.consecutive_failures,
                            "last_error": p.last_error,
                            "last_run_at": p.last_at.isoformat() if p.last_at else None,
                            "room_id": p.room_id,
                        }
                    )
            exercises.append({"exercise": exercise, **summary})
            clusters.extend((exercise, c) for c in stats.errors.values())
        stuck.sort(key=lambda s: (-int(s["consecutive_failures"]), str(s["name"]), str(s["user_id"])))
        ranked = sorted(clusters, key=lambda ec: (-ec[1].count, -(ec[1].last_at or now).timestamp(), ec[1].key))
        return {
            "class_id": self.class_id,
            "generated_at": now.isoformat(),
            "totals": {
                "runs": sum(s.runs for s in self.exercises.values()),
                "failures": sum(s.failures for s in self.exercises.values()),
                "students": len({u for s in self.exercises.values() for u in s.students if visible(u)}),
            },
            "timeline": {"start": buckets[0], "minutes": len(buckets), "runs": series(minutes)},
            "clusters": [
                {
                    **_cluster_brief(c),
                    "exercise": exercise,
                    "sparkline": series(c.minutes),
                    "people": [
                        {"user_id": u, "name": name(u), "room_id": c.rooms.get(u)}
                        for u in sorted(c.users, key=lambda u: (name(u).casefold(), u))
                        if visible(u)
                    ],
                }
                for exercise, c in ranked[:TOP_CLUSTERS]
            ],
            "exercises": exercises,
            "stuck": stuck,
        }

    @staticmethod
    def _timeline_start(minutes: Mapping[str, int], now: datetime) -> datetime:
        earliest = now - timedelta(minutes=TIMELINE_MINUTES - 1)
        if minutes:
            first = datetime.fromisoformat(min(minutes))
            earliest = max(earliest, min(first, now - timedelta(minutes=TIMELINE_MIN_MINUTES - 1)))
        return earliest.replace(second=0, microsecond=0)

    @staticmethod
    def _span(start: datetime, now: datetime) -> int:
        return max(1, min(TIMELINE_MINUTES, int((now - start).total_seconds() // 60) + 1))
