"""``classroom admin``: accounts from the command line.

``admin create-instructor USER`` makes an instructor (or admin) with a local password; ``admin create-token
USER`` prints a new long-lived API token (only its hash is stored); ``admin disable USER`` and ``admin enable
USER`` stop or restore every sign-in of an account (its sessions and tokens stop working at
once, because every request loads the user).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from classroom.errors import NotFound, SettingsError
from classroom.settings import Settings

WithDatabase = Callable[[Settings, Callable[[], object]], Coroutine[Any, Any, None]]


async def _user(username: str) -> Any:
    from classroom.tables import User

    user = await User.objects().where(User.username == username.strip().lower()).first().run()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def add_commands(sub: Any, with_database: WithDatabase) -> None:
    """Register ``admin`` and its actions on the ``classroom`` command's subparsers ``sub``."""

    def create_instructor(settings: Settings, args: argparse.Namespace) -> int:
        from classroom.accounts import service as accounts
        from classroom.auth.passwords import MIN_LENGTH

        password = args.password or os.environ.get("CLASSROOM_INSTRUCTOR_PASSWORD") or ""
        if not password and sys.stdin.isatty():
            password = getpass.getpass(f"password for {args.username} (at least {MIN_LENGTH} characters): ")
        if len(password) < MIN_LENGTH:
            raise SettingsError(f"--password: expected at least {MIN_LENGTH} characters")

        async def work() -> None:
            user = await accounts.create_password_user(
                username=args.username,
                display_name=args.name or args.username,
                password=password,
                role="admin" if args.admin else "instructor",
                exist_ok=args.exist_ok,
            )
            print(f"{user.role} {args.username} ready (id {user.id})")

        asyncio.run(with_database(settings, work))
        return 0

    def create_token(settings: Settings, args: argparse.Namespace) -> int:
        from classroom.auth import tokens
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

    admin = sub.add_parser("admin", help="account administration").add_subparsers(
        dest="admin", required=True, metavar="ACTION"
    )
    create = admin.add_parser("create-instructor", help="create an instructor (or admin) with a local password")
    create.add_argument("username")
    create.add_argument("--name", help="display name (default: the username)")
    create.add_argument("--password", help="password (default: $CLASSROOM_INSTRUCTOR_PASSWORD or a prompt)")
    create.add_argument("--admin", action="store_true", help="make an admin instead of an instructor")
    create.add_argument("--exist-ok", action="store_true", help="succeed without change if the user exists")
    create.set_defaults(func=create_instructor)
    token = admin.add_parser("create-token", help="print a new long-lived API token for a user")
    token.add_argument("username")
    token.add_argument("--name", default="cli", help="a label for the token")
    token.set_defaults(func=create_token)
    for action, disabled in (("disable", True), ("enable", False)):
        parser = admin.add_parser(action, help=f"{action} every sign-in of an account")
        parser.add_argument("username")
        parser.set_defaults(func=set_disabled(disabled))
