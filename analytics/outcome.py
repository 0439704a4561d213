"""One run outcome as the run pipeline reports it, parsed and checked.

The dispatcher sends plain dicts (they cross Ray and may come from an older or newer version of the server),
so parsing is lenient about extra keys and strict about the ones analytics relies on: a dict that cannot be
parsed is rejected with a reason, never half-counted.

Fields: ``run_id``, ``user_id``, ``class_id`` (may be None: a run outside any class), ``room_id`` (may be None),
``exercise`` (may be None), ``verdict`` (one of :data:`VERDICTS`), ``error_type``, ``error_message``,
``error_line``, ``wall_ms``, ``finished_at`` (ISO 8601; naive times are taken as UTC) and, optionally,
``kind`` (``run`` or ``grade``: a check of the exercise's hidden tests; default ``run``), ``graded`` (bool: the
exercise has hidden tests; default false), ``score`` (a check's fraction of the points, 0..1) and ``passed``.

When is an exercise **solved** (``passed``, unless given explicitly)?

- A check solves it when it earned every point (all hidden tests passed); a check that did not is a failure.
- On an exercise *with* hidden tests a plain run never solves it: one ``print('hi')`` that ran is not a solution.
  A run that ended in an error is a failure; one that ended normally is neither (it ends a failure streak).
- On an exercise *without* hidden tests (and for runs outside any lesson) a run that ended normally solves it:
  that is all there is to go by.

Also accepted, because the dispatcher's first draft sends them: ``user``/``klass``/``room`` for the ids,
``error: {type, message, line}`` for the three error fields and ``finished_at`` as seconds since the epoch.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analytics.normalise import error_key

VERDICTS = ("ok", "runtime_error", "time_limit", "memory_limit", "output_limit", "cancelled", "internal_error")
# Not the student's doing: recorded as events but counted neither as an attempt nor as a failure.
NOT_ATTEMPTS = frozenset({"cancelled", "internal_error"})
MAX_EXERCISE = 200
KINDS = ("run", "grade")
FULL = 1 - 1e-9  # a check's score at or above this earned every point


class OutcomeError(ValueError):
    """A reported outcome is malformed; the message names the field."""


@dataclass(frozen=True)
class Outcome:
    run_id: uuid.UUID
    user_id: uuid.UUID
    class_id: uuid.UUID | None
    room_id: uuid.UUID | None
    exercise: str | None
    verdict: str
    passed: bool
    error_type: str | None
    error_message: str | None
    error_line: int | None
    wall_ms: int | None
    finished_at: datetime
    kind: str = "run"
    graded: bool = False
    score: float | None = None

    @property
    def failed(self) -> bool:
        """A failing attempt: the program ended in an error, or a check did not earn every point."""
        if self.verdict != "ok":
            return True
        return self.kind == "grade" and (self.score is None or self.score < FULL)

    @property
    def counts(self) -> bool:
        """Whether this run is a student's attempt (see :data:`NOT_ATTEMPTS`)."""
        return self.verdict not in NOT_ATTEMPTS

    @property
    def error_key(self) -> str | None:
        return error_key(self.error_type, self.error_message, self.error_line)


def _uuid(data: Mapping[str, Any], name: str, *, optional: bool = False) -> uuid.UUID | None:
    value = data.get(name)
    if value is None:
        if optional:
            return None
        raise OutcomeError(f"{name}: required")
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise OutcomeError(f"{name}: expected a UUID, got {value!r}") from None


def _int(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise OutcomeError(f"{name}: expected an integer, got {value!r}")
    return value


def _text(data: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise OutcomeError(f"{name}: expected text, got {type(value).__name__}")
    return value[:limit] or None


ALIASES = {"user": "user_id", "klass": "class_id", "room": "room_id"}


def _canonical(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the accepted alternative spellings rewritten to the documented field names."""
    found = dict(data)
    for alias, name in ALIASES.items():
        if name not in found and alias in found:
            found[name] = found.pop(alias)
    error = found.get("error")
    if isinstance(error, Mapping):
        for part in ("type", "message", "line"):
            found.setdefault(f"error_{part}", error.get(part))
    return found


def _time(data: Mapping[str, Any]) -> datetime:
    value = data.get("finished_at")
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise OutcomeError(f"finished_at: not a valid time: {value!r}") from None
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str):
        try:
            found = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise OutcomeError(f"finished_at: expected an ISO 8601 time, got {value!r}") from None
    else:
        raise OutcomeError("finished_at: required (ISO 8601)")
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def parse_outcome(data: Mapping[str, Any]) -> Outcome:
    """An :class:`Outcome` from the pipeline's dict; :class:`OutcomeError` naming the first bad field."""
    if not isinstance(data, Mapping):
        raise OutcomeError(f"expected a mapping, got {type(data).__name__}")
    data = _canonical(data)
    verdict = data.get("verdict")
    if verdict not in VERDICTS:
        raise OutcomeError(f"verdict: expected one of {', '.join(VERDICTS)}, got {verdict!r}")
    passed = data.get("passed")
    if passed is not None and not isinstance(passed, bool):
        raise OutcomeError(f"passed: expected true or false, got {passed!r}")
    kind = data.get("kind") or "run"
    if kind not in KINDS:
        raise OutcomeError(f"kind: expected run or grade, got {kind!r}")
    graded = data.get("graded", False) or kind == "grade"
    if not isinstance(graded, bool):
        raise OutcomeError(f"graded: expected true or false, got {graded!r}")
    score = data.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1):
        raise OutcomeError(f"score: expected a fraction from 0 to 1, got {score!r}")
    if passed is None:
        if kind == "grade":
            passed = verdict == "ok" and score is not None and score >= FULL
        else:
            passed = verdict == "ok" and not graded
    run_id, user_id = _uuid(data, "run_id"), _uuid(data, "user_id")
    assert run_id is not None and user_id is not None  # required ids raise instead of returning None
    return Outcome(
        run_id=run_id,
        user_id=user_id,
        class_id=_uuid(data, "class_id", optional=True),
        room_id=_uuid(data, "room_id", optional=True),
        exercise=_text(data, "exercise", MAX_EXERCISE),
        verdict=str(verdict),
        passed=passed,
        error_type=_text(data, "error_type", 120),
        error_message=_text(data, "error_message", 2000),
        error_line=_int(data, "error_line"),
        wall_ms=_int(data, "wall_ms"),
        finished_at=_time(data),
        kind=str(kind),
        graded=graded,
        score=None if score is None else float(score),
    )
