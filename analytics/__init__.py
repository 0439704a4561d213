"""Analytics of run outcomes: error clusters, attempts, time between runs and stuck students.

A library of pure aggregation logic (no Ray, no Starlette, no database): the analytics actor parses the run
pipeline's outcome dicts with :func:`parse_outcome`, applies them to a :class:`ClassAggregate` per class, persists
the changed :class:`AggregateRow` values and serves :meth:`ClassAggregate.snapshot`.
"""

from analytics.aggregate import AggregateRow, ClassAggregate, ExerciseStats
from analytics.normalise import error_key, normalise_message
from analytics.outcome import NOT_ATTEMPTS, VERDICTS, Outcome, OutcomeError, parse_outcome
from analytics.progress import ErrorCluster, StuckRule, StudentProgress

__all__ = [
    "NOT_ATTEMPTS",
    "VERDICTS",
    "AggregateRow",
    "ClassAggregate",
    "ErrorCluster",
    "ExerciseStats",
    "Outcome",
    "OutcomeError",
    "StuckRule",
    "StudentProgress",
    "error_key",
    "normalise_message",
    "parse_outcome",
]
