"""``classroom worker`` (add execution capacity to a cluster from another machine) and ``classroom head`` (start
the cluster's Ray head on the fixed, documented port :data:`actors.cluster.HEAD_PORT`, 6379).

It wraps one command — ``ray start --address HEAD --resources '{"sandbox_slot": N}'`` — after checking that this
machine has a sandbox backend that passes its confinement self-test (a node that cannot sandbox must not offer
slots: its runs would all fail). The head's Ray auth token, when token auth is on, comes from the environment as
for any ``ray start`` (``RAY_AUTH_TOKEN``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from actors.cluster import HEAD_PORT, SLOT_RESOURCE, head_command
from classroom.errors import SettingsError
from classroom.settings import Settings

ADDRESS = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def ray_start_command(args: argparse.Namespace) -> list[str]:
    """The ``ray start`` argv for the validated arguments (raises SettingsError with a one-line reason)."""
    if not ADDRESS.match(args.address or ""):
        raise SettingsError(f"--address={args.address!r} is not allowed: expected HOST:PORT of the head's GCS")
    if args.slots < 1:
        raise SettingsError(f"--slots={args.slots} is not allowed: expected a whole number above 0")
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray") or "ray"
    argv = [ray, "start", "--address", args.address, "--resources", json.dumps({SLOT_RESOURCE: args.slots})]
    if args.num_cpus is not None:
        argv += ["--num-cpus", str(args.num_cpus)]
    if args.node_ip_address:
        argv += ["--node-ip-address", args.node_ip_address]
    if args.block:
        argv.append("--block")
    return argv


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    worker = sub.add_parser(
        "worker",
        help="add execution slots on this machine to a cluster (wraps `ray start`)",
        description="Join the Ray cluster at HEAD and offer N sandbox slots from this machine.",
    )
    worker.add_argument("--address", required=True, help="the head's Ray address, HOST:PORT (e.g. 10.0.0.5:6379)")
    worker.add_argument("--slots", type=int, required=True, help="how many runs this machine runs at once")
    worker.add_argument("--num-cpus", type=int, default=None, help="CPUs to offer Ray (default: Ray's own guess)")
    worker.add_argument("--node-ip-address", default="", help="this node's address as the head should see it")
    worker.add_argument("--block", action="store_true", help="stay in the foreground (for systemd / containers)")
    worker.add_argument("--skip-probe", action="store_true", help="do not check the sandbox backend first")
    worker.add_argument("--dry-run", action="store_true", help="print the ray start command instead of running it")
    worker.set_defaults(func=run)


def add_head_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    head = sub.add_parser(
        "head",
        help=f"start the cluster's Ray head on port {HEAD_PORT} (no CPUs, no slots: it only schedules)",
        description="Start the Ray head that web edges (CLASSROOM_EXECUTION=cluster) and workers join.",
    )
    head.add_argument("--port", type=int, default=HEAD_PORT, help=f"the GCS port (default {HEAD_PORT})")
    head.add_argument("--block", action="store_true", help="stay in the foreground (for systemd / containers)")
    head.add_argument("--dry-run", action="store_true", help="print the ray start command instead of running it")
    head.set_defaults(func=run_head)


def run_head(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise SettingsError(f"--port={args.port} is not allowed: expected a port number from 1 to 65535")
    argv = head_command(args.port, block=args.block)
    if args.dry_run:
        print(shlex.join(argv))
        return 0
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": os.environ.get("RAY_USAGE_STATS_ENABLED", "0")}
    return subprocess.run(argv, env=env, check=False).returncode


def run(settings: Settings, args: argparse.Namespace) -> int:
    argv = ray_start_command(args)
    if args.dry_run:
        print(shlex.join(argv))
        return 0
    if not args.skip_probe:
        from execution import probe_backends_sync

        reports = probe_backends_sync()
        if not any(r.available and r.selftest and r.selftest.ok for r in reports):
            reasons = "; ".join(f"{r.name}: {r.reason or 'self-test failed'}" for r in reports)
            print(
                f"classroom: no sandbox backend works on this machine ({reasons}); see `classroom doctor`",
                file=sys.stderr,
            )
            return 1
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": os.environ.get("RAY_USAGE_STATS_ENABLED", "0")}
    return subprocess.run(argv, env=env, check=False).returncode
