"""``classroom course import DIR``: import a course directory of Markdown lessons (new versions only)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from classroom.settings import Settings

WithDatabase = Callable[[Settings, Callable[[], object]], Coroutine[Any, Any, None]]


def add_commands(sub: Any, with_database: WithDatabase) -> None:
    """Register ``course`` and its actions on the ``classroom`` command's subparsers ``sub``."""

    def course_import(settings: Settings, args: argparse.Namespace) -> int:
        from classroom import courses

        async def work() -> None:
            report = await courses.import_course(Path(args.directory))
            added = ", ".join(report.added) or "nothing new"
            print(f"course {report.course}: {added} ({len(report.unchanged)} unchanged)")

        asyncio.run(with_database(settings, work))
        return 0

    course = sub.add_parser("course", help="course content").add_subparsers(
        dest="course", required=True, metavar="ACTION"
    )
    imp = course.add_parser("import", help="import a course directory of Markdown lessons (new versions only)")
    imp.add_argument("directory", help="course directory (e.g. classroom/courses/sample)")
    imp.set_defaults(func=course_import)
