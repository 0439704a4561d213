"""The gradebook and the hints as pure functions: best score, attempts, first pass, students only, CSV rows (a name
that looks like a formula stays text), and which hints a number of failed checks reveals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from classroom.grading.schemas import ExerciseOut
from classroom.grading.service import build_gradebook, gradebook_csv, revealed_hints

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
EXERCISES = [
    ExerciseOut(id="sample/functions", title="Functions", points=10),
    ExerciseOut(id="sample/lists", title="Lists", points=5),
]


def check(user: str, exercise: str, score: float, minute: int, points: int = 10) -> dict[str, object]:
    return {
        "user": user,
        "exercise": exercise,
        "score": score,
        "points": points,
        "finished_at": T0 + timedelta(minutes=minute),
    }


def test_best_attempts_and_first_pass() -> None:
    checks = [
        check("a", "sample/functions", 0.7, 1),
        check("a", "sample/functions", 1.0, 5),
        check("a", "sample/functions", 0.4, 6),
        check("a", "sample/functions", 1.0, 3),  # arrived late: still the first full pass
        check("b", "sample/lists", 0.5, 2, points=5),
        check("teacher", "sample/functions", 1.0, 1),  # not a student: not in the book
        check("a", "other/gone", 1.0, 1),  # an exercise no longer in the course
    ]
    book = build_gradebook("c", EXERCISES, [("b", "bob"), ("a", "Ada")], checks)
    assert [s.name for s in book.students] == ["Ada", "bob"]  # by name, case-insensitively
    ada, bob = book.students
    assert (ada.cells[0].best, ada.cells[0].attempts, ada.cells[0].first_pass_at) == (
        10.0,
        4,
        T0 + timedelta(minutes=3),
    )
    assert (ada.cells[1].best, ada.cells[1].attempts) == (None, 0)
    assert (bob.cells[1].best, bob.cells[1].first_pass_at, bob.total) == (2.5, None, 2.5)
    assert ada.total == 10.0


def test_csv_rows_and_formula_names() -> None:
    book = build_gradebook("c", EXERCISES, [("a", "=HYPERLINK(1)")], [check("a", "sample/functions", 1.0, 1)])
    header, row = list(csv.reader(io.StringIO(gradebook_csv(book))))
    assert header == [
        "student",
        "total",
        "sample/functions best (of 10)",
        "sample/functions attempts",
        "sample/functions first pass",
        "sample/lists best (of 5)",
        "sample/lists attempts",
        "sample/lists first pass",
    ]
    assert row == ["'=HYPERLINK(1)", "10.0", "10.0", "1", "2026-11-26T10:01:00+00:00", "", "0", ""]


def test_hints_are_revealed_one_by_one() -> None:
    hints = ["one", "two", "three"]
    assert revealed_hints(hints, 0, 2) == ([], 2)
    assert revealed_hints(hints, 1, 2) == ([], 1)
    assert revealed_hints(hints, 2, 2) == (["one"], 2)
    assert revealed_hints(hints, 5, 2) == (["one", "two"], 1)
    assert revealed_hints(hints, 6, 2) == (hints, None)
    assert revealed_hints([], 9, 1) == ([], None)
