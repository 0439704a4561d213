"""Courses: lessons and exercises as Markdown files with YAML front matter, imported into versioned rows.

Public face: :func:`parse_lesson`, :func:`load_course_dir`, :func:`import_course`, :func:`latest_lessons`,
:func:`get_lesson`, :data:`SAMPLE_DIR`. See :mod:`classroom.courses.format` for the file format.
"""

from classroom.courses.format import LessonFile, load_course_dir, parse_lesson
from classroom.courses.store import SAMPLE_DIR, ImportReport, get_lesson, import_course, latest_lessons

__all__ = [
    "SAMPLE_DIR",
    "ImportReport",
    "LessonFile",
    "get_lesson",
    "import_course",
    "latest_lessons",
    "load_course_dir",
    "parse_lesson",
]
