"""Courses: the Markdown format, versioned import, the API's view of a lesson, and the sample course's own
exercises (each reference solution passes its hidden tests; each starter file runs and does not)."""

from __future__ import annotations

import subprocess
import sys
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

SOLUTIONS = {
    "hello": 'name = "Ada"\nprint(f"Hello, {name}!")\n',
    "functions": "def area(width, height):\n    return width * height\n",
    "lists-and-loops": "def total_even(numbers):\n    return sum(n for n in numbers if n % 2 == 0)\n",
    "prompt-construction": (
        'TEMPLATE = "You are a helpful {role}.\\nAnswer in {language}.\\nQuestion: {question}"\n'
        "def build_prompt(role, language, question):\n"
        "    return TEMPLATE.format(role=role, language=language, question=question.strip())\n"
        "def build_few_shot(examples, question):\n"
        '    blocks = [f"Q: {q}\\nA: {a}" for q, a in examples] + [f"Q: {question}\\nA:"]\n'
        '    return "\\n\\n".join(blocks)\n'
    ),
}


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


def _run(directory: Path, main: str, tests: str) -> subprocess.CompletedProcess[str]:
    (directory / "main.py").write_text(main)
    (directory / "check.py").write_text(tests)
    return subprocess.run(
        [sys.executable, "check.py"], cwd=directory, capture_output=True, text=True, timeout=30, check=False
    )


def test_the_sample_course_exercises_are_sound(tmp_path: Path) -> None:
    name, lessons = courses.load_course_dir(courses.SAMPLE_DIR)
    assert name == "sample" and [lesson.slug for lesson in lessons] == list(SOLUTIONS)
    assert any("format" in lesson.body and "prompt" in lesson.body for lesson in lessons)
    for lesson in lessons:
        assert lesson.points > 0 and lesson.hints and lesson.hidden_tests
        solved = _run(tmp_path, SOLUTIONS[lesson.slug], lesson.hidden_tests)
        assert solved.returncode == 0, f"{lesson.slug}: reference solution fails: {solved.stderr}"
        starter = lesson.starter_files["main.py"]
        compile(starter, "main.py", "exec")
        unsolved = _run(tmp_path, starter, lesson.hidden_tests)
        assert unsolved.returncode != 0, f"{lesson.slug}: the starter already passes its hidden tests"
