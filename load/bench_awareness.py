"""Awareness relay cost: our collab server's CPU while N stock y-websocket clients in one room move their cursors.

The regression test (tests/collab/test_collab_regressions.py) checks that each awareness change reaches every peer
once and that echoes are not fanned out again (the O(N²) relay of pycrdt-websocket's YRoom); how much CPU that takes
is measured here, not asserted there. Each size runs in this process against the same in-process server
(tests/collab/collab_harness.running_server, memory store, uvicorn), with 5 clients as the baseline; printed:
the server's share of a core, CPU per awareness change, and the ratio to the baseline. The target the test used to
assert: 50 clients x 10 changes/s below half a core (YRoom: ~100%).

    .venv/bin/python load/bench_awareness.py [--sizes 5,50] [--interval-ms 100] [--duration-ms 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "collab")]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def one(clients: int, interval_ms: int, duration_ms: int) -> dict[str, float]:
    from collab_harness import NODE_DIR, grants_for, running_server

    from collab import MemoryStore, RoomManager

    manager = RoomManager(MemoryStore())
    room = f"crowd-{clients}"
    async with running_server(manager, grants_for([room])) as url:
        swarm = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_DIR / "swarm.mjs"),
            url,
            room,
            "writer",
            str(clients),
            str(interval_ms),
            str(duration_ms),
            stdout=asyncio.subprocess.PIPE,
        )
        assert swarm.stdout is not None
        synced = json.loads(await asyncio.wait_for(swarm.stdout.readline(), 60))
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        summary = json.loads(await asyncio.wait_for(swarm.stdout.readline(), 120))
        cpu, wall = cpu_seconds() - cpu0, time.monotonic() - wall0
        await swarm.wait()
    changes = max(1, int(summary["changes"]))
    return {
        "clients": clients,
        "synced": synced["synced"],
        "core": cpu / wall,
        "ms_per_change": cpu * 1000 / changes,
        "changes": changes,
        "min_peers_seen": summary["minPeersSeen"],
    }


def npm_ci() -> None:
    from collab_harness import NODE_DIR

    if not (NODE_DIR / "node_modules" / "y-websocket").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, capture_output=True)


async def main(sizes: list[int], interval_ms: int, duration_ms: int) -> None:
    results = [await one(n, interval_ms, duration_ms) for n in sizes]
    base = results[0]
    print(f"{'clients':>8}{'synced':>8}{'changes':>9}{'server cpu':>12}{'cpu/change':>13}{'x baseline':>12}")
    for r in results:
        print(
            f"{r['clients']:>8}{r['synced']:>8}{r['changes']:>9}{r['core']:>11.0%}"
            f"{r['ms_per_change']:>10.2f} ms{r['core'] / max(1e-9, base['core']):>11.2f}x"
        )
    print(f"target: {sizes[-1]} clients x {1000 // interval_ms} changes/s below 50% of a core")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5,50", help="clients per run; the first is the baseline")
    parser.add_argument("--interval-ms", type=int, default=100)
    parser.add_argument("--duration-ms", type=int, default=4000)
    args = parser.parse_args()
    npm_ci()
    asyncio.run(main([int(x) for x in args.sizes.split(",")], args.interval_ms, args.duration_ms))
