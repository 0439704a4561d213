"""The lesson file format: Markdown with a YAML front matter block, one lesson (and its exercise) per file.

::

    ---
    title: Strings and f-strings          # required
    slug: strings                         # default: the file name without .md (and a leading "NN-" order prefix)
    position: 2                           # default: the number prefix of the file name, else 0
    points: 10                            # default 0 (no exercise to grade)
    starter_files: {main.py: "print()"}   # file name -> text shown in the editor
    hidden_tests: |                       # Python run after the student's code; never sent to students
      assert ...
    hints: [first hint, second hint]
    ---
    The lesson body in Markdown.

A course is a directory of such files, plus an optional ``course.yaml`` with ``name`` (default: the directory
name). Errors are :class:`~classroom.errors.BadRequest` naming the file and the field.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from classroom.errors import BadRequest

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
ORDER_PREFIX = re.compile(r"^(\d+)[-_](.+)$")


@dataclass(frozen=True)
class LessonFile:
    slug: str
    title: str
    body: str
    position: int = 0
    points: int = 0
    starter_files: dict[str, str] = field(default_factory=dict)
    hidden_tests: str = ""
    hints: list[str] = field(default_factory=list)
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
    tests = meta.get("hidden_tests") or ""
    if not isinstance(tests, str):
        raise BadRequest(f"{filename}: hidden_tests must be text")
    try:
        position = int(meta.get("position", int(prefix.group(1)) if prefix else 0))
        points = int(meta.get("points", 0))
    except (TypeError, ValueError):
        raise BadRequest(f"{filename}: position and points must be whole numbers") from None
    return LessonFile(
        slug=slug,
        title=title.strip(),
        body=body.strip() + "\n",
        position=position,
        points=points,
        starter_files=dict(starter),
        hidden_tests=tests,
        hints=list(hints),
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
