"""The ``classroom`` command: serve, migrate, doctor, admin, course, sandbox and worker.

Every argument is validated; a bad one (or a bad ``CLASSROOM_*`` setting) prints one line to stderr and exits
with status 2. Subcommands that talk to the database bind the engine from the settings first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence

from classroom.accounts import cli as accounts_cli
from classroom.courses import cli as courses_cli
from classroom.errors import ClassroomError
from classroom.sandboxes import cli as sandboxes_cli
from classroom.settings import Settings, load_settings

EXIT_USAGE = 2


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import faulthandler

    import uvicorn

    from classroom.app import create_app
    from classroom.auth.redaction import install_redaction

    install_redaction()  # before any line is logged: socket tokens travel in URLs, which access logs print
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    faulthandler.enable()  # a crash in native code (Ray, uvloop, pycrdt) prints every thread's Python stack
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=settings.shutdown_seconds,
        ws_max_size=1024 * 1024,
        # Compression costs ~50 KiB per idle connection (zlib state); Yjs updates are small and binary.
        ws_per_message_deflate=False,
        proxy_headers=bool(settings.public_url),
    )
    return 0


async def _with_database(settings: Settings, work: Callable[[], object]) -> None:
    from classroom import db

    engine = db.engine_from_url(settings.database_url)
    await db.start(engine)
    try:
        await db.migrate(engine)
        result = work()
        if asyncio.iscoroutine(result):
            await result
    finally:
        await db.stop(engine)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from classroom import db

    async def run() -> list[str]:
        engine = db.engine_from_url(settings.database_url)
        await db.start(engine)
        try:
            return await db.migrate(engine)
        finally:
            await db.stop(engine)

    ran = asyncio.run(run())
    print("applied: " + ", ".join(ran) if ran else "database is up to date")
    return 0


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from classroom import doctor

    findings = doctor.run_all(settings)
    print(doctor.render(findings))
    return 0 if doctor.healthy(findings) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="classroom", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the HTTP/WebSocket server").set_defaults(func=_serve)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(func=_migrate)
    sub.add_parser("doctor", help="report what this machine can do and how to fix what is missing").set_defaults(
        func=_doctor
    )
    accounts_cli.add_commands(sub, _with_database)  # admin create-instructor, create-token, disable, enable
    sandboxes_cli.add_commands(sub)  # worker; sandbox build-image, self-test
    courses_cli.add_commands(sub, _with_database)  # course import
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        code: int = args.func(settings, args)
        return code
    except ClassroomError as exc:
        print(f"classroom: {exc.detail}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
