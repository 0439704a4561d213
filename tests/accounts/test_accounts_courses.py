"""Courses: the Markdown format (hidden tests with weights and messages, hints), versioned import and the API's
view of a lesson. The sample exercises are graded in real sandboxes by tests/execution/test_grading.py."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from authz_world import World

from classroom import courses
from classroom.errors import BadRequest

LESSON = """---
title: Loops
points: 3
starter_files: {main.py: "print(1)\\n"}
hidden_tests: "assert True"
hints: [use for]
---
Body text.
"""


def test_parse_defaults_from_the_file_name() -> None:
    lesson = courses.parse_lesson(LESSON, "07-loops-basics.md")
    assert (lesson.slug, lesson.position, lesson.points) == ("loops-basics", 7, 3)
    assert lesson.starter_files == {"main.py": "print(1)\n"} and lesson.hints == ["use for"]
    assert lesson.body == "Body text.\n" and len(lesson.content_hash) == 64


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no front matter", "front matter"),
        ("---\ntitle: x\n", "not closed"),
        ("---\n[1, 2]\n---\n", "mapping"),
        ("---\npoints: 1\n---\n", "title is required"),
        ("---\ntitle: x\nslug: Bad Slug\n---\n", "slug"),
        ("---\ntitle: x\nstarter_files: [a]\n---\n", "starter_files"),
        ("---\ntitle: x\npoints: many\n---\n", "whole numbers"),
        ("---\ntitle: x\nhints: hint\n---\n", "hints"),
        ("---\ntitle: x\npoints: 1\nhidden_tests: {a: 1}\n---\n", "hidden_tests must be a list"),
        ("---\ntitle: x\npoints: 1\nhidden_tests: [{name: a}]\n---\n", "needs 'code'"),
        ("---\ntitle: x\npoints: 1\nhidden_tests: [{code: 'x ='}]\n---\n", "not valid Python"),
        ("---\ntitle: x\npoints: 1\nhidden_tests: [{code: x, points: -1}]\n---\n", "points must be a number"),
        ("---\ntitle: x\npoints: 1\nhidden_tests: [{code: x, name: a}, {code: y, name: a}]\n---\n", "unique"),
        ("---\ntitle: x\npoints: 1\nhidden_tests: [{code: x, wat: 1}]\n---\n", "unknown field"),
        ("---\ntitle: x\nhidden_tests: [{code: x}]\n---\n", "needs points above 0"),
        ("---\ntitle: x\nhint_after: 0\n---\n", "hint_after must be at least 1"),
    ],
)
def test_parse_errors_name_the_file_and_field(text: str, problem: str) -> None:
    with pytest.raises(BadRequest) as caught:
        courses.parse_lesson(text, "bad.md")
    assert caught.value.detail.startswith("bad.md:") and problem in caught.value.detail


@pytest.mark.anyio
async def test_import_is_versioned_by_content(tmp_path: Path, database: object) -> None:
    course = tmp_path / "intro"
    course.mkdir()
    (course / "01-loops.md").write_text(LESSON)
    first = await courses.import_course(course)
    assert first.course == "intro" and first.added == ["loops@1"]
    assert (await courses.import_course(course)).unchanged == ["loops"]
    (course / "01-loops.md").write_text(LESSON.replace("Body text.", "Better body."))
    assert (await courses.import_course(course)).added == ["loops@2"]
    latest = await courses.get_lesson("intro", "loops")
    assert latest is not None and latest.version == 2 and latest.body == "Better body.\n"
    assert [lesson.version for lesson in await courses.latest_lessons("intro")] == [2]
    (course / "02-dup.md").write_text(LESSON.replace("title: Loops", "title: Dup\nslug: loops"))
    with pytest.raises(BadRequest, match="duplicate"):
        await courses.import_course(course)


@pytest.mark.anyio
async def test_lessons_api_hides_the_hidden_tests(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/api/lessons/sample/prompt-construction", headers=world.headers("student_a"))
    body = response.json()
    assert body["title"] == "Building prompts with string formatting" and body["points"] == 15
    assert "main.py" in body["starter_files"] and "hidden_tests" not in body and "assert" not in str(body["hints"])


def test_hidden_tests_with_weights_and_messages() -> None:
    text = LESSON.replace(
        'hidden_tests: "assert True"',
        "hidden_tests:\n  - {name: one, code: 'expect(main.f(), 1)', points: 2, message: use return}\n"
        "  - {code: 'main.g()'}\nhint_after: 3",
    )
    lesson = courses.parse_lesson(text, "loops.md")
    one, two = lesson.hidden_tests
    assert (one.name, one.points, one.message, two.name, two.points) == ("one", 2.0, "use return", "test 2", 1.0)
    assert lesson.hint_after == 3


def test_the_sample_course_has_graded_exercises() -> None:
    name, lessons = courses.load_course_dir(courses.SAMPLE_DIR)
    assert name == "sample" and [lesson.slug for lesson in lessons] == [
        "hello",
        "functions",
        "lists-and-loops",
        "prompt-construction",
    ]
    assert any("format" in lesson.body and "prompt" in lesson.body for lesson in lessons)
    for lesson in lessons:
        assert lesson.points > 0 and lesson.hints and len(lesson.hidden_tests) >= 3
        compile(lesson.starter_files["main.py"], "main.py", "exec")
