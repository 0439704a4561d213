"""Checks on every backend: the sample course's exercises grade correct, partial and wrong solutions as
expected; per-test messages say expected vs got; the program's own output reaches the console."""

from __future__ import annotations

import pytest
from sample_solutions import SOLUTIONS

from classroom.courses import SAMPLE_DIR, load_course_dir
from execution import Backend, GradeSpec, HiddenTest, Limits, RunSpec, Verdict

pytestmark = [pytest.mark.sandbox, pytest.mark.anyio]

LIMITS = Limits(wall_seconds=8)
_, LESSONS = load_course_dir(SAMPLE_DIR)
CASES = [(lesson, label, code, fraction) for lesson in LESSONS for label, code, fraction in SOLUTIONS[lesson.slug]]


def grade_spec(tests: tuple[HiddenTest, ...]) -> GradeSpec:
    return GradeSpec(tests, call_seconds=2.0)


async def check(backend: Backend, files: dict[str, str], tests: tuple[HiddenTest, ...]):  # type: ignore[no-untyped-def]
    async with backend.sandbox(LIMITS) as sandbox:
        return await sandbox.run(RunSpec(files=files, limits=LIMITS, grade=grade_spec(tests)))


def test_every_sample_exercise_has_solutions() -> None:
    assert sorted(SOLUTIONS) == sorted(lesson.slug for lesson in LESSONS)
    assert all(lesson.hidden_tests and lesson.points > 0 for lesson in LESSONS)


@pytest.mark.parametrize(("lesson", "label", "code", "fraction"), CASES, ids=lambda v: getattr(v, "slug", v))
async def test_sample_exercise_scores(backend: Backend, lesson, label, code, fraction) -> None:  # type: ignore[no-untyped-def]
    source = lesson.starter_files["main.py"] if code is None else code
    tests = tuple(HiddenTest(t.name, t.code, t.points, t.message) for t in lesson.hidden_tests)
    res = await check(backend, {"main.py": source}, tests)
    assert res.grade is not None, f"{res.verdict} {res.detail}: {res.stderr[-1000:]}"
    got = round(res.grade.score_fraction, 6)
    detail = [(t.name, t.passed, t.message) for t in res.grade.tests]
    assert got == round(fraction, 6), f"{lesson.slug}/{label}: {detail}"
    assert [t.name for t in res.grade.tests] == [t.name for t in tests]
    assert all(t.message for t in res.grade.tests if not t.passed)


async def test_feedback_says_expected_and_got_and_the_program_output_reaches_the_console(backend: Backend) -> None:
    tests = (
        HiddenTest("adds", "from main import add\nexpect(add(2, 3), 5, 'add(2, 3)')", 2),
        HiddenTest("exists", "main.sub(1, 1)", 1, message="define sub(a, b)"),
        HiddenTest("raises", "main.boom()", 1),
        HiddenTest("prints", "main.shout('hi')\nexpect(printed(), 'HI\\n', 'what shout printed')", 1),
    )
    src = (
        "def add(a, b):\n    return a - b\n\ndef boom():\n    return [][1]\n\n"
        "def shout(s):\n    print(s.upper())\n\nprint('ready')\n"
    )
    res = await check(backend, {"main.py": src}, tests)
    assert res.verdict == Verdict.OK and res.stdout.startswith("ready\n")
    assert res.grade is not None and res.grade.loaded
    adds, exists, raises, prints = res.grade.tests
    assert (adds.passed, adds.message) == (False, "add(2, 3): expected 5, got -1")
    assert not exists.passed and exists.message.startswith("define sub(a, b)")
    assert not raises.passed and "boom() raised IndexError: list index out of range" in raises.message
    assert prints.passed, prints.message
    assert res.grade.score_fraction == pytest.approx(1 / 5)


async def test_an_endless_loop_fails_the_remaining_tests_within_the_limits(backend: Backend) -> None:
    tests = (
        HiddenTest("ok", "expect(main.one(), 1)"),
        HiddenTest("loops", "main.spin()"),
        HiddenTest("after", "main.one()"),
    )
    src = "def one():\n    return 1\n\ndef spin():\n    while True:\n        pass\n"
    res = await check(backend, {"main.py": src}, tests)
    assert res.grade is not None and [t.passed for t in res.grade.tests] == [True, False, False]
    assert "did not finish within" in res.grade.tests[1].message


async def test_a_program_failing_while_loading_fails_every_test_with_its_error(backend: Backend) -> None:
    res = await check(
        backend, {"main.py": "x = 1\ny = x / 0\n"}, (HiddenTest("a", "main.x"), HiddenTest("b", "main.y"))
    )
    assert res.verdict == Verdict.RUNTIME_ERROR and res.error is not None and res.error.type == "ZeroDivisionError"
    assert res.grade is not None and not res.grade.loaded
    assert all("ZeroDivisionError: division by zero on line 2" in t.message for t in res.grade.tests)
