"""The lesson file format: Markdown with a YAML front matter block, one lesson (and its exercise) per file.

::

    ---
    title: Strings and f-strings          # required
    slug: strings                         # default: the file name without .md (and a leading "NN-" order prefix)
    position: 2                           # default: the number prefix of the file name, else 0
    points: 10                            # the exercise's score when every hidden test passes (default 0)
    starter_files: {main.py: "print()"}   # file name -> text shown in the editor
    hidden_tests:                         # run by the grader, apart from the student's program; never sent out
      - name: area(3, 4) is 12            # shown to the student with passed / failed
        points: 2                         # weight among the tests (default 1)
        code: |                           # Python; `main` is the student's module, each call runs in their box
          from main import area
          expect(area(3, 4), 12)          # fails with "expected 12, got None"
        message: use return, not print    # optional: shown when it fails
    hints: [first hint, second hint]      # hint k is revealed after k * hint_after failed checks
    hint_after: 2                         # default 2
    ---

A single string as ``hidden_tests`` is one test named "hidden tests" (the older form).
    The lesson body in Markdown.

A course is a directory of such files, plus an optional ``course.yaml`` with ``name`` (default: the directory
name). Errors are :class:`~classroom.errors.BadRequest` naming the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from classroom.errors import BadRequest

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
ORDER_PREFIX = re.compile(r"^(\d+)[-_](.+)$")


@dataclass(frozen=True)
class LessonTest:
    """One hidden test of a lesson (see :class:`execution.types.HiddenTest`)."""

    name: str
    code: str
    points: float = 1.0
    message: str = ""


def tests_to_text(tests: tuple[LessonTest, ...]) -> str:
    """The tests as stored in ``lessons.hidden_tests`` (JSON text)."""
    if not tests:
        return ""
    return json.dumps([{"name": t.name, "code": t.code, "points": t.points, "message": t.message} for t in tests])


def tests_from_text(text: str) -> tuple[LessonTest, ...]:
    """The tests of a stored lesson: JSON from :func:`tests_to_text`, or an older plain script (one test)."""
    if not text.strip():
        return ()
    try:
        raw = json.loads(text)
    except ValueError:
        return (LessonTest("hidden tests", text),)
    if not isinstance(raw, list):
        return (LessonTest("hidden tests", text),)
    return tuple(
        LessonTest(str(t["name"]), str(t["code"]), float(t.get("points", 1)), str(t.get("message", ""))) for t in raw
    )


def _tests(raw: Any, where: str) -> tuple[LessonTest, ...]:
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        return (LessonTest("hidden tests", raw),)
    if not isinstance(raw, list):
        raise BadRequest(f"{where}: hidden_tests must be a list of tests (name, code, points, message)")
    tests: list[LessonTest] = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not isinstance(item.get("code"), str) or not item["code"].strip():
            raise BadRequest(f"{where}: hidden test {i} needs 'code' (Python text)")
        name = item.get("name", f"test {i}")
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            raise BadRequest(f"{where}: hidden test {i}: name must be text of at most 120 characters")
        points = item.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, int | float) or not 0 < points <= 1000:
            raise BadRequest(f"{where}: hidden test {i} ({name}): points must be a number above 0")
        message = item.get("message", "")
        if not isinstance(message, str):
            raise BadRequest(f"{where}: hidden test {i} ({name}): message must be text")
        unknown = set(item) - {"name", "code", "points", "message"}
        if unknown:
            raise BadRequest(f"{where}: hidden test {i} ({name}): unknown field(s) {', '.join(sorted(unknown))}")
        try:
            compile(item["code"], f"{where}: hidden test {i}", "exec")
        except SyntaxError as exc:
            problem = f"{exc.msg} (line {exc.lineno})"
            raise BadRequest(f"{where}: hidden test {i} ({name}) is not valid Python: {problem}") from None
        tests.append(LessonTest(name.strip(), item["code"], float(points), message))
    names = [t.name for t in tests]
    if len(set(names)) != len(names):
        raise BadRequest(f"{where}: hidden test names must be unique")
    return tuple(tests)


@dataclass(frozen=True)
class LessonFile:
    slug: str
    title: str
    body: str
    position: int = 0
    points: int = 0
    starter_files: dict[str, str] = field(default_factory=dict)
    hidden_tests: tuple[LessonTest, ...] = ()
    hints: list[str] = field(default_factory=list)
    hint_after: int = 2
    content_hash: str = ""


def _split(text: str, where: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        raise BadRequest(f"{where}: expected a front matter block starting with '---'")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise BadRequest(f"{where}: the front matter block is not closed with '---'")
    try:
        meta = yaml.safe_load(parts[0][3:]) or {}
    except yaml.YAMLError as exc:
        raise BadRequest(f"{where}: front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise BadRequest(f"{where}: front matter must be a mapping")
    return meta, parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""


def parse_lesson(text: str, filename: str) -> LessonFile:
    """One lesson from its file text; ``filename`` gives the default slug and position."""
    meta, body = _split(text, filename)
    stem = Path(filename).stem
    prefix = ORDER_PREFIX.match(stem)
    slug = str(meta.get("slug") or (prefix.group(2) if prefix else stem)).lower()
    if not SLUG.match(slug):
        raise BadRequest(f"{filename}: slug {slug!r} must be lowercase letters, digits and dashes")
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise BadRequest(f"{filename}: title is required")
    starter = meta.get("starter_files") or {}
    if not isinstance(starter, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in starter.items()):
        raise BadRequest(f"{filename}: starter_files must map file names to text")
    hints = meta.get("hints") or []
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        raise BadRequest(f"{filename}: hints must be a list of text")
    tests = _tests(meta.get("hidden_tests"), filename)
    try:
        position = int(meta.get("position", int(prefix.group(1)) if prefix else 0))
        points = int(meta.get("points", 0))
        hint_after = int(meta.get("hint_after", 2))
    except (TypeError, ValueError):
        raise BadRequest(f"{filename}: position, points and hint_after must be whole numbers") from None
    if hint_after < 1:
        raise BadRequest(f"{filename}: hint_after must be at least 1")
    if tests and points <= 0:
        raise BadRequest(f"{filename}: a lesson with hidden tests needs points above 0")
    return LessonFile(
        slug=slug,
        title=title.strip(),
        body=body.strip() + "\n",
        position=position,
        points=points,
        starter_files=dict(starter),
        hidden_tests=tests,
        hints=list(hints),
        hint_after=hint_after,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


def load_course_dir(directory: Path) -> tuple[str, list[LessonFile]]:
    """``(course name, lessons in order)`` of a course directory."""
    if not directory.is_dir():
        raise BadRequest(f"{directory}: not a directory")
    name = directory.name
    meta_file = directory / "course.yaml"
    if meta_file.is_file():
        meta = yaml.safe_load(meta_file.read_text()) or {}
        name = str(meta.get("name") or name) if isinstance(meta, dict) else name
    if not SLUG.match(name):
        raise BadRequest(f"{directory}: course name {name!r} must be lowercase letters, digits and dashes")
    lessons = [parse_lesson(path.read_text(), path.name) for path in sorted(directory.glob("*.md"))]
    slugs = [lesson.slug for lesson in lessons]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise BadRequest(f"{directory}: duplicate lesson slugs: {', '.join(duplicates)}")
    return name, sorted(lessons, key=lambda lesson: (lesson.position, lesson.slug))
