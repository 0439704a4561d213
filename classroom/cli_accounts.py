"""The accounts and course subcommands of ``classroom``: ``course import DIR`` and the rest of ``admin``.

``admin create-token USER`` prints a new long-lived API token (only its hash is stored); ``admin disable USER``
and ``admin enable USER`` stop or restore every sign-in of an account (its sessions and tokens stop working at
once, because every request loads the user).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from classroom.errors import NotFound
from classroom.settings import Settings

WithDatabase = Callable[[Settings, Callable[[], object]], Coroutine[Any, Any, None]]


async def _user(username: str) -> Any:
    from classroom.tables import User

    user = await User.objects().where(User.username == username.strip().lower()).first().run()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def add_commands(sub: Any, admin: Any, with_database: WithDatabase) -> None:
    """Register ``course import`` on ``sub`` and the extra ``admin`` actions on ``admin``."""

    def course_import(settings: Settings, args: argparse.Namespace) -> int:
        from classroom import courses

        async def work() -> None:
            report = await courses.import_course(Path(args.directory))
            added = ", ".join(report.added) or "nothing new"
            print(f"course {report.course}: {added} ({len(report.unchanged)} unchanged)")

        asyncio.run(with_database(settings, work))
        return 0

    def create_token(settings: Settings, args: argparse.Namespace) -> int:
        from classroom import tokens
        from classroom.tables import ApiToken

        async def work() -> None:
            user = await _user(args.username)
            token, digest = tokens.new_api_token()
            now = datetime.now(UTC)
            await (
                ApiToken(id=uuid.uuid4(), user=user.id, name=args.name, token_hash=digest, created_at=now).save().run()
            )
            print(token)

        asyncio.run(with_database(settings, work))
        return 0

    def set_disabled(disabled: bool) -> Callable[[Settings, argparse.Namespace], int]:
        def run(settings: Settings, args: argparse.Namespace) -> int:
            from classroom.tables import User

            async def work() -> None:
                user = await _user(args.username)
                await User.update({User.disabled: disabled}).where(User.id == user.id).run()
                print(f"{args.username} {'disabled' if disabled else 'enabled'}")

            asyncio.run(with_database(settings, work))
            return 0

        return run

    course = sub.add_parser("course", help="course content").add_subparsers(
        dest="course", required=True, metavar="ACTION"
    )
    imp = course.add_parser("import", help="import a course directory of Markdown lessons (new versions only)")
    imp.add_argument("directory", help="course directory (e.g. classroom/courses/sample)")
    imp.set_defaults(func=course_import)

    token = admin.add_parser("create-token", help="print a new long-lived API token for a user")
    token.add_argument("username")
    token.add_argument("--name", default="cli", help="a label for the token")
    token.set_defaults(func=create_token)
    for action, disabled in (("disable", True), ("enable", False)):
        parser = admin.add_parser(action, help=f"{action} every sign-in of an account")
        parser.add_argument("username")
        parser.set_defaults(func=set_disabled(disabled))
