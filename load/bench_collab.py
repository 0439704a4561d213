"""Benchmark of the collab server against the reference Node server (``@y/websocket-server`` 0.1.1).

For each scenario (rooms x clients per room, a steady stream of edits), stock y-websocket clients in Node
(load/collab/peers.mjs; ``--client-procs N`` spreads each room's clients over N processes) measure
edit -> ALL other peers latency (p50/p99), while this script samples the server's CPU.
Memory per idle connection is measured first on a fresh server (RSS delta / connections).
Both servers run the same harness in the same run, in interleaved rounds (the shared machine's load drifts);
the ratio ours/node is printed.

Our server is tests/collab/serve_app.py (the real endpoint, the database store on SQLite, uvicorn on uvloop as
``uvicorn.run`` picks it in production);
the Node server is ``node node_modules/@y/websocket-server/src/server.js`` (in-memory, no persistence).
``BENCH_OUR_ARGS`` passes extra options to our server (e.g. ``--memory-store``, ``--ws websockets``).

    .venv/bin/python load/bench_collab.py [--duration 12] [--rounds 3] [--quick] [--only "x 2"]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
LOAD_DIR = ROOT / "load" / "collab"
sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Scenario:
    name: str
    rooms: int
    clients: int
    rate: float  # edits per second per room
    cursors: bool = False


SCENARIOS = [
    Scenario("1 room x 2", 1, 2, 50),
    Scenario("1 room x 30", 1, 30, 30),
    Scenario("1 room x 100", 1, 100, 15),
    Scenario("100 rooms x 2", 100, 2, 5),
    Scenario("1 room x 30 + cursors", 1, 30, 20, cursors=True),
]
IDLE_ROOMS, IDLE_PER_ROOM = 10, 100
CLIENT_PROCESSES = [1]  # a room's clients are spread over this many Node processes (--client-procs)
OUR_ARGS = [a for a in os.environ.get("BENCH_OUR_ARGS", "").split() if a]


@dataclass
class Result:
    p50: float
    p99: float
    cpu: float
    complete: int
    sent: int


def npm_ci() -> None:
    if not (LOAD_DIR / "node_modules" / "@y" / "websocket-server").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=LOAD_DIR, check=True, capture_output=True)


async def make_rooms(database: str, count: int) -> list[str]:
    """Room rows for our server's log (foreign keys); the Node server accepts any name."""
    from classroom import db
    from classroom.tables import Class, Room, User

    engine = db.engine_from_url(database)
    await db.migrate(engine)
    now = datetime.now(UTC)
    user = User(id=uuid.uuid4(), display_name="Bench", role="instructor", created_at=now)
    await user.save()
    klass = Class(id=uuid.uuid4(), name="Bench", owner=user.id, join_code=uuid.uuid4().hex[:8], created_at=now)
    await klass.save()
    rooms = [
        Room(id=uuid.uuid4(), klass=klass.id, name=f"r{i}", created_by=user.id, created_at=now) for i in range(count)
    ]
    await Room.insert(*rooms)
    return [str(r.id) for r in rooms]


class Server:
    def __init__(self, name: str, process: asyncio.subprocess.Process, url: str) -> None:
        self.name, self.process, self.url = name, process, url
        self.ps = psutil.Process(process.pid)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    async def stop(self) -> None:
        self.process.terminate()
        await self.process.wait()


async def start_ours(database: str, grants: Path) -> Server:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests" / "collab" / "serve_app.py"),
        "--database",
        database,
        "--grants",
        str(grants),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    port = int((await process.stdout.readline()).split()[1])
    await asyncio.sleep(1.0)
    return Server("ours", process, f"ws://127.0.0.1:{port}/collab")


async def start_node() -> Server:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        "node",
        str(LOAD_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"),
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(1.0)
    return Server("node", process, f"ws://127.0.0.1:{port}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def peers(config: dict[str, Any]) -> list[asyncio.subprocess.Process]:
    procs = min(CLIENT_PROCESSES[0], int(config["clients"]))
    return [
        await asyncio.create_subprocess_exec(
            "node",
            str(LOAD_DIR / "peers.mjs"),
            json.dumps({**config, "procs": procs, "index": index}),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=2**28,
        )
        for index in range(procs)
    ]


async def _line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    line: dict[str, Any] = json.loads(await asyncio.wait_for(process.stdout.readline(), 180))
    return line


async def idle_memory(server: Server, rooms: list[str]) -> float:
    """Bytes of server RSS per idle, synced connection."""
    await asyncio.sleep(0.5)
    before = server.rss()
    processes = await peers(
        {"url": server.url, "rooms": rooms, "clients": IDLE_PER_ROOM, "token": "bench", "mode": "idle"}
    )
    synced = sum([int((await _line(p))["synced"]) for p in processes])
    await asyncio.sleep(3.0)
    after = server.rss()
    for process in processes:
        assert process.stdin is not None
        process.stdin.close()
        await process.wait()
    return (after - before) / synced


@dataclass
class Sample:
    latencies: list[float]
    cpu_seconds: float
    wall_seconds: float
    sent: int


async def run(server: Server, scenario: Scenario, rooms: list[str], duration: float) -> Sample:
    processes = await peers(
        {
            "url": server.url,
            "rooms": rooms,
            "clients": scenario.clients,
            "token": "bench",
            "mode": "edit",
            "rate": scenario.rate,
            "warmup": 2000,
            "duration": duration * 1000,
            "cursors": scenario.cursors,
        }
    )
    for process in processes:
        await _line(process)  # synced
    measuring = [await _line(p) for p in processes]
    cpu_start, wall_start = server.cpu(), time.monotonic()
    done = [await _line(p) for p in processes]
    cpu_end, wall_end = server.cpu(), time.monotonic()
    reports = [await _line(p) for p in processes]
    for process in processes:
        await process.wait()
    # Only edits made while every process was measuring; an edit's latency is until the LAST other peer saw it.
    window = (max(m["at"] for m in measuring), min(d["at"] for d in done))
    receipts: dict[str, list[float]] = {}
    for report in reports:
        for edit, (count, last) in report["receipts"].items():
            merged = receipts.setdefault(edit, [0, 0.0])
            merged[0] += count
            merged[1] = max(merged[1], last)
    sends = {e: at for r in reports for e, at in r["sends"].items() if window[0] <= at <= window[1]}
    latencies = [receipts[e][1] - at for e, at in sends.items() if receipts.get(e, [0])[0] >= scenario.clients - 1]
    return Sample(latencies, cpu_end - cpu_start, wall_end - wall_start, len(sends))


def summarize(samples: list[Sample]) -> Result:
    latencies = sorted(x for s in samples for x in s.latencies) or [float("nan")]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    cpu = sum(s.cpu_seconds for s in samples) / max(1e-9, sum(s.wall_seconds for s in samples))
    return Result(statistics.median(latencies), p99, cpu, len(latencies), sum(s.sent for s in samples))


async def main(duration: float, quick: bool, only: str | None, rounds: int) -> None:
    npm_ci()
    scenarios = SCENARIOS[:2] if quick else SCENARIOS
    if only:
        scenarios = [s for s in scenarios if only in s.name]
    needed = IDLE_ROOMS + rounds * sum(s.rooms for s in scenarios)
    results: dict[str, dict[str, Result]] = {}
    memory: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/bench.sqlite"
        room_ids = await make_rooms(database, needed)
        grants = Path(tmp) / "grants.json"
        grants.write_text(
            json.dumps({"bench": {"user": "bench", "name": "Bench", "rooms": {r: "writer" for r in room_ids}}})
        )
        servers = {"ours": await start_ours(database, grants), "node": await start_node()}
        try:
            ids = iter(room_ids)
            idle_rooms = [next(ids) for _ in range(IDLE_ROOMS)]
            for name, server in servers.items():  # first, on fresh servers
                memory[name] = await idle_memory(server, idle_rooms)
                print(f"{name}: {memory[name] / 1024:.1f} KiB per idle connection", flush=True)
            for scenario in scenarios:
                samples: dict[str, list[Sample]] = {"ours": [], "node": []}
                # Interleaved rounds: the shared machine's load drifts; both servers see the same drift.
                for _ in range(rounds):
                    rooms = [next(ids) for _ in range(scenario.rooms)]
                    for name, server in servers.items():
                        samples[name].append(await run(server, scenario, rooms, duration / rounds))
                for name in servers:
                    result = results.setdefault(scenario.name, {})[name] = summarize(samples[name])
                    print(
                        f"{name}: {scenario.name}: p50 {result.p50:.1f} ms p99 {result.p99:.1f} ms "
                        f"cpu {result.cpu:.0%} ({result.complete}/{result.sent} edits complete)",
                        flush=True,
                    )
        finally:
            for server in servers.values():
                await server.stop()
    print()
    print(
        f"{'scenario':<26}{'ours p50/p99 ms':>18}{'node p50/p99 ms':>18}{'p99 ratio':>11}"
        f"{'ours cpu':>10}{'node cpu':>10}"
    )
    for scenario in scenarios:
        ours, node = results[scenario.name]["ours"], results[scenario.name]["node"]
        print(
            f"{scenario.name:<26}{ours.p50:>8.1f} /{ours.p99:>7.1f}{node.p50:>9.1f} /{node.p99:>7.1f}"
            f"{ours.p99 / node.p99:>10.2f}x{ours.cpu:>10.0%}{node.cpu:>10.0%}"
        )
    print(
        f"{'memory per idle connection':<26}{memory['ours'] / 1024:>14.1f} KiB{memory['node'] / 1024:>14.1f} KiB"
        f"{memory['ours'] / memory['node']:>10.2f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=12.0, help="measured seconds per scenario and server")
    parser.add_argument("--quick", action="store_true", help="only the first two scenarios")
    parser.add_argument("--only", help="only scenarios whose name contains this")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved ours/node runs per scenario")
    parser.add_argument("--client-procs", type=int, default=1, help="Node processes per room's clients")
    arguments = parser.parse_args()
    CLIENT_PROCESSES[0] = arguments.client_procs
    asyncio.run(main(arguments.duration, arguments.quick, arguments.only, arguments.rounds))
