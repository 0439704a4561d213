"""Outcome parsing, per-student progress, error clusters, the stuck rule, round-trips and the snapshot."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics import ClassAggregate, OutcomeError, StuckRule, parse_outcome

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CLASS = str(uuid.uuid4())
ALICE, BOB, CAROL = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())


def outcome(
    user: str, minute: float, verdict: str = "ok", exercise: str | None = "loops", **extra: Any
) -> dict[str, Any]:
    return {
        "run_id": str(uuid.uuid4()),
        "user_id": user,
        "class_id": CLASS,
        "room_id": None,
        "exercise": exercise,
        "verdict": verdict,
        "error_type": None,
        "error_message": None,
        "error_line": None,
        "wall_ms": 40,
        "finished_at": (T0 + timedelta(minutes=minute)).isoformat(),
        **extra,
    }


def failing(user: str, minute: float, name: str = "x", line: int = 3) -> dict[str, Any]:
    return outcome(user, minute, "runtime_error", error_type="NameError",
                   error_message=f"name '{name}' is not defined", error_line=line)


def test_parse_rejects_precisely() -> None:
    good = outcome(ALICE, 0)
    assert parse_outcome(good).passed
    for field, value, reason in [
        ("verdict", "great", "verdict"),
        ("run_id", "nope", "run_id"),
        ("user_id", None, "user_id"),
        ("finished_at", "yesterday", "finished_at"),
        ("error_line", "3", "error_line"),
        ("passed", "yes", "passed"),
        ("exercise", 5, "exercise"),
        ("kind", "quiz", "kind"),
        ("score", 1.5, "score"),
        ("graded", "yes", "graded"),
    ]:
        with pytest.raises(OutcomeError, match=reason):
            parse_outcome({**good, field: value})
    with pytest.raises(OutcomeError):
        parse_outcome([])  # type: ignore[arg-type]


def test_parse_accepts_the_dispatcher_draft_shape() -> None:
    draft = {"run_id": str(uuid.uuid4()), "user": ALICE, "klass": CLASS, "room": None, "verdict": "runtime_error",
             "error": {"type": "ZeroDivisionError", "message": "division by zero", "line": 2},
             "finished_at": T0.timestamp()}
    parsed = parse_outcome(draft)
    assert str(parsed.user_id) == ALICE and str(parsed.class_id) == CLASS
    assert parsed.error_key == "ZeroDivisionError: division by zero @ 2" and parsed.finished_at == T0
    assert not parsed.passed


def test_the_timeline_covers_at_least_a_quarter_hour_ending_now() -> None:
    agg = ClassAggregate(CLASS)
    agg.apply(parse_outcome(outcome(ALICE, 0)))
    agg.apply(parse_outcome(failing(BOB, 0.5)))
    timeline = agg.snapshot(T0 + timedelta(minutes=1, seconds=20))["timeline"]
    assert timeline["minutes"] == 15 and len(timeline["runs"]) == 15
    assert timeline["start"] == (T0 - timedelta(minutes=13)).isoformat()
    assert timeline["runs"] == [0] * 13 + [2, 0]  # both runs in their own minute, then the minute now
    longer = agg.snapshot(T0 + timedelta(minutes=40))["timeline"]  # past a quarter hour: from the first run
    assert longer["start"] == T0.isoformat() and longer["minutes"] == 41


def test_progress_clusters_and_snapshot() -> None:
    agg = ClassAggregate(CLASS)
    runs = [failing(ALICE, 0, "x"), failing(ALICE, 1, "total"), outcome(ALICE, 3),
            failing(BOB, 0, "y"), outcome(BOB, 2, "cancelled"), outcome(BOB, 4, "internal_error")]
    touched = set()
    for run in runs:
        touched |= agg.apply(parse_outcome(run))
    key = "NameError: name <name> is not defined @ 3"
    assert touched == {("loops", None), ("loops", key)}
    snap = agg.snapshot(T0 + timedelta(minutes=4), StuckRule())
    ex = snap["exercises"][0]
    assert snap["totals"] == {"runs": 4, "failures": 3, "students": 2}  # cancelled / internal_error not attempts
    assert ex["solved"] == 1 and ex["median_attempts_to_solve"] == 3 and ex["pass_rate"] == 0.25
    assert ex["attempts_to_solve"] == [{"attempts": 3, "students": 1}]
    assert ex["mean_seconds_between_runs"] == 90.0  # Alice: 60 s then 120 s
    assert ex["top_errors"][0]["key"] == key
    assert ex["top_errors"][0]["count"] == 3 and ex["top_errors"][0]["students"] == 2
    assert ex["top_errors"][0]["example"] == "name 'x' is not defined"
    assert snap["stuck"] == []


def test_stuck_rule() -> None:
    agg = ClassAggregate(CLASS)
    for minute in range(3):
        agg.apply(parse_outcome(failing(ALICE, minute)))
    agg.apply(parse_outcome(failing(BOB, 0)))
    agg.apply(parse_outcome(outcome(BOB, 11, graded=True)))  # ran, but only a check can solve a graded exercise
    agg.apply(parse_outcome(failing(CAROL, 0)))
    agg.apply(parse_outcome(outcome(CAROL, 16, graded=True)))
    stuck = agg.snapshot(T0 + timedelta(minutes=16), names={ALICE: "Alice", BOB: "Bob", CAROL: "Carol"})["stuck"]
    assert [(s["name"], s["reason"]) for s in stuck] == [
        ("Alice", "3 failing runs or checks in a row"),
        ("Bob", "no run or check for 5 minutes, not solved"),
        ("Carol", "16 minutes on it without solving it"),
    ]
    # Bob went away an hour ago: gone, not stuck. A success clears Alice; a full check clears Carol.
    agg.apply(parse_outcome(outcome(ALICE, 13)))
    agg.apply(parse_outcome(outcome(CAROL, 17, kind="grade", score=1.0)))
    assert agg.snapshot(T0 + timedelta(minutes=80))["stuck"] == []


def test_solved_means_the_hidden_tests_passed() -> None:
    agg = ClassAggregate(CLASS)
    agg.apply(parse_outcome(outcome(ALICE, 0, graded=True)))  # print('hi') ran: not a solution
    agg.apply(parse_outcome(outcome(ALICE, 1, kind="grade", score=0.5)))  # a partial check fails
    agg.apply(parse_outcome(outcome(BOB, 0)))  # an exercise without tests: a run that ended normally solves it
    snap = agg.snapshot(T0 + timedelta(minutes=1))
    graded = snap["exercises"][0]
    assert (graded["solved"], graded["failures"], graded["checks"]) == (1, 1, 1)  # Bob (same exercise name)
    agg.apply(parse_outcome(outcome(ALICE, 2, kind="grade", score=1.0)))
    assert agg.snapshot(T0 + timedelta(minutes=2))["exercises"][0]["attempts_to_solve"] == [
        {"attempts": 1, "students": 1},
        {"attempts": 3, "students": 1},
    ]


def test_names_given_only_those_people_are_shown() -> None:
    agg = ClassAggregate(CLASS)
    for user in (ALICE, BOB):
        for minute in range(3):
            agg.apply(parse_outcome(failing(user, minute)))
    snap = agg.snapshot(T0 + timedelta(minutes=3), names={ALICE: "Alice"})
    assert [s["name"] for s in snap["stuck"]] == ["Alice"] and snap["totals"]["students"] == 1
    assert [p["name"] for p in snap["clusters"][0]["people"]] == ["Alice"]


def test_rows_round_trip() -> None:
    agg = ClassAggregate(CLASS)
    for run in [failing(ALICE, 0), outcome(ALICE, 2), failing(BOB, 1, line=9), outcome(BOB, 2, exercise=None)]:
        agg.apply(parse_outcome(run))
    now = T0 + timedelta(minutes=3)
    again = ClassAggregate.from_rows(CLASS, agg.rows())
    assert again.snapshot(now) == agg.snapshot(now)
    assert len(agg.rows()) == 4  # loops, loops × 2 error keys, and the no-exercise row


def test_out_of_order_outcomes_never_count_negative_gaps() -> None:
    agg = ClassAggregate(CLASS)
    agg.apply(parse_outcome(failing(ALICE, 5)))
    agg.apply(parse_outcome(failing(ALICE, 4)))
    assert agg.snapshot(T0)["exercises"][0]["mean_seconds_between_runs"] == 0.0
