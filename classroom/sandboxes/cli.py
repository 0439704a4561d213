"""``classroom sandbox`` (build the Docker runtime image, run a backend's confinement self-test) and
``classroom worker`` (:mod:`classroom.sandboxes.worker`)."""

from __future__ import annotations

import argparse
import asyncio

import execution
import execution.docker_backend
from classroom.errors import BadRequest, Unavailable
from classroom.sandboxes import plan, ray_tls, worker
from classroom.settings import Settings


def _build_image(settings: Settings, args: argparse.Namespace) -> int:
    try:
        tag = execution.docker_backend.build_image(args.tag, force=args.force)
    except Exception as exc:  # the docker SDK raises many types; each is one clear line for the operator
        raise Unavailable(f"could not build the sandbox image: {type(exc).__name__}: {exc}") from None
    print(f"sandbox image ready: {tag}")
    return 0


def _self_test(settings: Settings, args: argparse.Namespace) -> int:
    name = args.backend or settings.sandbox_backend
    if name != "auto" and name not in execution.backend_names():
        raise BadRequest(f"backend {name!r}: expected one of auto, {', '.join(execution.backend_names())}")

    async def run() -> tuple[str, execution.SelfTestReport]:
        backend = await execution.resolve_backend(name)
        return backend.name, await execution.self_test(backend, fresh=True, guard=(settings.data_dir,))

    try:
        picked, report = asyncio.run(run())
    except execution.ExecutionError as exc:
        raise Unavailable(f"{name}: {exc}") from None
    for check, outcome in sorted(report.checks.items()):
        print(f"  {check:<24} {outcome}")
    for key, value in sorted(report.cgroup_limits.items()):
        print(f"  limit {key:<18} {value}")
    print(f"{picked}: self-test " + ("passed" if report.ok else "FAILED: " + "; ".join(report.failures)))
    return 0 if report.ok else 1


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``worker`` and ``sandbox`` on the ``classroom`` command's subparsers ``sub``."""
    worker.add_parser(sub)
    worker.add_head_parser(sub)
    plan.add_parser(sub)
    ray_tls.add_parser(sub)
    sandbox = sub.add_parser("sandbox", help="sandbox backends").add_subparsers(
        dest="sandbox", required=True, metavar="ACTION"
    )
    build = sandbox.add_parser("build-image", help="build the Docker runtime image locally (no registry)")
    build.add_argument("--tag", default=execution.docker_backend.IMAGE, help="image tag")
    build.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    build.set_defaults(func=_build_image)
    test = sandbox.add_parser("self-test", help="run a backend's confinement canaries and show the limits")
    test.add_argument("backend", nargs="?", help="auto, bwrap, nsjail, docker (default: CLASSROOM_SANDBOX_BACKEND)")
    test.set_defaults(func=_self_test)
