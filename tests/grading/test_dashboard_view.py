"""The dashboard's view: every exercise of the course in order (also those nobody started) with how many students
have not started it, titles on clusters and stuck students, and a fingerprint that ignores only the time."""

from __future__ import annotations

from classroom.dashboard.service import fingerprint, merge

LESSONS = [
    {"exercise": "sample/hello", "title": "Hello", "graded": True},
    {"exercise": "sample/functions", "title": "Functions", "graded": True},
]


def test_merge_adds_unstarted_exercises_titles_and_class_size() -> None:
    snapshot = {
        "generated_at": "2026-11-26T10:00:00+00:00",
        "exercises": [
            {"exercise": "sample/functions", "students": 3, "solved": 1, "runs": 9},
            {"exercise": None, "students": 1, "solved": 1, "runs": 1},
        ],
        "clusters": [{"exercise": "sample/functions", "key": "k"}],
        "stuck": [{"exercise": None, "name": "Ada"}],
    }
    view = merge(snapshot, LESSONS, class_size=5)
    assert [(e["exercise"], e["title"], e["not_started"]) for e in view["exercises"]] == [
        ("sample/hello", "Hello", 5),
        ("sample/functions", "Functions", 2),
        (None, "Free practice", None),
    ]
    assert view["exercises"][0]["runs"] == 0 and view["exercises"][1]["runs"] == 9
    assert view["clusters"][0]["title"] == "Functions" and view["stuck"][0]["title"] == "Free practice"
    assert view["class_size"] == 5


def test_fingerprint_ignores_only_the_time() -> None:
    a = merge({"generated_at": "t1", "exercises": []}, LESSONS, 2)
    b = merge({"generated_at": "t2", "exercises": []}, LESSONS, 2)
    c = merge({"generated_at": "t2", "exercises": []}, LESSONS, 3)
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)
