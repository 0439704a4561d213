"""Scale-out benchmark: trivial-run throughput of the cluster in a box (load/box.py) with 1, 2 and 3 sandbox
worker nodes of equal CPU quota, each its own container. Prints runs/s per size and the ratio to linear
(throughput with n workers / (n x throughput with 1)); target >= 0.8.

This machine has 2 cores shared by everything (the head, the web edge, PostgreSQL, Redis and the workers), so
each worker gets a quota of 0.5 core: three fit with half a core left for the rest. One web edge, so the edge is
the same at every size; clients keep every slot busy (2 per worker). Also printed: how long a worker takes from
``docker run`` to slots ready on the edge (target 30 s).

    .venv/bin/python load/bench_scale.py [--runs 60] [--cpus 0.5] [--write]

``--write`` stores the measured core-seconds per trivial run in classroom/sandboxes/capacity.json, which
``classroom plan`` uses for its cost model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load.box import Box, build_image, follow, make_users, submit  # noqa: E402

POSTGRES_ADMIN = os.environ.get("CLASSROOM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("CLASSROOM_BENCH_REDIS", "redis://127.0.0.1:6379/8")
CODE = "print('x')"


async def throughput(box: Box, users: list[dict[str, str]], clients: int, runs: int) -> tuple[float, list[str]]:
    base = box.url(next(iter(box.webs)))
    verdicts: list[str] = []
    per_client = max(1, runs // clients)

    async def client(creds: dict[str, str]) -> None:
        for _ in range(per_client):
            verdict, _ = await follow(base, creds, await submit(base, creds, CODE))
            verdicts.append(verdict)

    await asyncio.gather(*(client(users[i]) for i in range(min(3, clients))))  # warm every path once
    verdicts.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(client(users[i]) for i in range(clients)))
    return len(verdicts) / (time.perf_counter() - t0), verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="runs per cluster size")
    parser.add_argument("--cpus", type=float, default=0.5, help="CPU quota of each worker container")
    parser.add_argument("--slots", type=int, default=2, help="sandbox slots per worker")
    parser.add_argument("--write", action="store_true", help="store the figure for `classroom plan`")
    args = parser.parse_args()
    if args.runs < 1 or not 0.1 <= args.cpus <= 2 or args.slots < 1:
        parser.error("--runs >= 1, --cpus in [0.1, 2], --slots >= 1")
    image = build_image("classroom:bench")
    db_name = f"classroom_bench_{secrets.token_hex(4)}"
    subprocess.run(["psql", POSTGRES_ADMIN, "-qc", f"CREATE DATABASE {db_name}"], check=True, capture_output=True)
    postgres = POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + db_name
    box = Box(image, postgres_url=postgres, redis_url=REDIS, worker_cpus=args.cpus, slots=args.slots)
    results: dict[int, float] = {}
    joined: dict[int, float] = {}  # worker n added -> its slots ready on the edge, seconds
    try:
        box.start(workers=1, webs=1)
        web = next(iter(box.webs))
        box.wait_ready(web, slots=args.slots)
        users = asyncio.run(make_users(postgres, box.secret, 3 * args.slots * 2))
        for n in (1, 2, 3):
            if n > 1:
                t0 = time.monotonic()
                box.add_worker()
                box.wait_ready(web, slots=n * args.slots)
                joined[n] = time.monotonic() - t0
            clients = n * args.slots * 2
            rate, verdicts = asyncio.run(throughput(box, users, clients, args.runs * n))
            bad = [v for v in verdicts if v != "ok"]
            results[n] = rate
            print(f"workers={n} ({args.cpus:g} core each, {args.slots} slots): {rate:6.2f} runs/s"
                  f"  ({len(verdicts)} runs, {len(bad)} not ok)", flush=True)  # fmt: skip
    finally:
        box.close()
        subprocess.run(["psql", POSTGRES_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"],
                       capture_output=True)  # fmt: skip
    base = results[1]
    for n, rate in results.items():
        print(f"scale x{n}: {rate / base:4.2f}x of 1 worker, {rate / (n * base):4.2f} of linear (target >= 0.8)")
    for n, took in joined.items():
        print(f"worker {n} added: its slots ready on the edge after {took:.1f} s (target <= 30 s)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    core_seconds = args.cpus / base  # one worker's quota divided by its throughput: CPU cost of a trivial run
    print(f"core-seconds per trivial run (1 worker): {core_seconds:.3f}")
    if args.write:
        target = ROOT / "classroom" / "sandboxes" / "capacity.json"
        data = json.loads(target.read_text())
        data["measured"] = {
            "core_seconds_per_trivial_run": round(core_seconds, 4),
            "runs_per_second": {str(n): round(r, 2) for n, r in results.items()},
            "worker_cpus": args.cpus,
            "date": time.strftime("%Y-%m-%d"),
        }
        target.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
