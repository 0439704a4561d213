"""Benchmark of the collab server against the reference Node server (``@y/websocket-server`` 0.1.1).

For each scenario (rooms x clients per room, a steady stream of edits), stock y-websocket clients in Node
(load/collab/peers.mjs; ``--client-procs N`` spreads each room's clients over N processes) measure the latency
of every (edit, receiving peer) pair (p50/p99) and count the pairs never delivered, while this script samples the
server's CPU. Memory per idle connection is measured first on a fresh server (RSS delta / connections).
Both servers run the same harness in the same run, in interleaved rounds (the shared machine's load drifts);
the ratio ours/node is printed beside each target of issue 15: p99 <= 1.0x Node's and server CPU per edit <= 1.2x
Node's in every scenario, an idle connection <= 32 KiB of server RSS.

Our server is, by default, the real ``classroom serve`` (``--server serve``: the whole app, its JWT and database
access check at the handshake, presence, SQLite in a fresh data directory, no Ray; peers use a WebSocket token of
the instructor owning every room). ``--server stand-in`` runs tests/collab/serve_app.py instead (the same collab
endpoint and store behind a token-dict authorize, uvicorn on uvloop), to tell the app's cost from the endpoint's.
The Node server is ``node node_modules/@y/websocket-server/src/server.js`` (in-memory, no persistence).
``BENCH_OUR_ARGS`` passes extra settings to our server: ``CLASSROOM_*=value`` assignments for ``classroom serve``
(e.g. ``CLASSROOM_REDIS_URL=redis://127.0.0.1:6379/5``), options of serve_app.py for the stand-in (e.g.
``--memory-store``, ``--ws websockets``).

    .venv/bin/python load/bench_collab.py [--duration 12] [--rounds 3] [--quick] [--only "x 2"] [--server stand-in]
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
# Targets of issue 15, printed beside each figure: p99 edit -> peer <= 1.0x Node's in the same run (every
# scenario), server CPU per edit <= 1.2x Node's, an idle connection <= 32 KiB of server RSS.
P99_RATIO_TARGET = 1.0
CPU_RATIO_TARGET = 1.2
IDLE_KIB_TARGET = 32.0
CLIENT_PROCESSES = [1]  # a room's clients are spread over this many Node processes (--client-procs)
OUR_ARGS = [a for a in os.environ.get("BENCH_OUR_ARGS", "").split() if a]
SERVER = ["serve"]  # --server: "serve" (the real `classroom serve`) or "stand-in" (tests/collab/serve_app.py)


@dataclass
class Result:
    p50: float  # ms, over every delivered (edit, receiver) pair
    p99: float
    cpu: float  # server CPU seconds per wall second
    cpu_per_edit_us: float  # server CPU per edit relayed (microseconds): the "CPU per message" of the targets
    delivered: int  # (edit, receiver) pairs that arrived
    undelivered: int  # pairs that never did
    sent: int  # edits


def npm_ci() -> None:
    if not (LOAD_DIR / "node_modules" / "@y" / "websocket-server").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=LOAD_DIR, check=True, capture_output=True)


async def make_rooms(database: str, count: int) -> tuple[uuid.UUID, list[str]]:
    """An instructor and a class with ``count`` rooms in our server's database (the log's foreign keys, and the
    real server's access check); the Node server accepts any name. Returns (instructor id, room ids)."""
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
    return user.id, [str(r.id) for r in rooms]


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


class Ours:
    """How to start our server and what token its peers present (a fresh one per batch of peers)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.data = tmp / "data"
        self.database = f"sqlite:///{self.data / 'classroom.sqlite'}"
        self.user: uuid.UUID | None = None

    def token(self) -> str:
        if SERVER[0] == "stand-in":
            return "bench"
        from classroom.auth import tokens
        from classroom.settings import load_settings

        assert self.user is not None
        settings = load_settings({"CLASSROOM_DATA_DIR": str(self.data)}, dotenv=None)
        return tokens.issue_jwt(settings, self.user, tokens.WS_AUDIENCE, tokens.WS_TOKEN_SECONDS)

    async def start(self, room_ids: list[str]) -> Server:
        if SERVER[0] == "stand-in":
            grants = self.tmp / "grants.json"
            rooms = {r: "writer" for r in room_ids}
            grants.write_text(json.dumps({"bench": {"user": "bench", "name": "Bench", "rooms": rooms}}))
            argv = ["tests/collab/serve_app.py", "--database", self.database, "--grants", str(grants), *OUR_ARGS]
            process = await asyncio.create_subprocess_exec(
                sys.executable, *argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE
            )
            assert process.stdout is not None
            port = int((await process.stdout.readline()).split()[1])
        else:
            port = _free_port()
            settings = dict(a.split("=", 1) for a in OUR_ARGS)
            env = {
                **os.environ,
                "CLASSROOM_DATA_DIR": str(self.data),
                "CLASSROOM_HOST": "127.0.0.1",
                "CLASSROOM_PORT": str(port),
                "CLASSROOM_START_RAY": "false",
                "CLASSROOM_LOG_LEVEL": "warning",
                **settings,
            }
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "classroom", "serve", cwd=self.tmp, env=env, stdout=asyncio.subprocess.DEVNULL
            )
        await _wait_listening(port, process)
        return Server("ours", process, f"ws://127.0.0.1:{port}/collab")


async def _wait_listening(port: int, process: asyncio.subprocess.Process) -> None:
    """Until the server accepts TCP connections (it exiting first is an error); then a second to settle."""
    for _ in range(1200):
        if process.returncode is not None:
            raise RuntimeError(f"our server exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await asyncio.sleep(1.0)
        return
    raise RuntimeError("our server did not listen within 60 s")


async def start_node() -> Server:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        "node",
        str(LOAD_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"),
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
    )
    await _wait_listening(port, process)
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


async def idle_memory(server: Server, rooms: list[str], token: str) -> float:
    """Bytes of server RSS per idle, synced connection."""
    await asyncio.sleep(0.5)
    before = server.rss()
    processes = await peers(
        {"url": server.url, "rooms": rooms, "clients": IDLE_PER_ROOM, "token": token, "mode": "idle"}
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
    latencies: list[float]  # one per delivered (edit, receiver) pair
    undelivered: int
    cpu_seconds: float
    wall_seconds: float
    sent: int


async def run(server: Server, scenario: Scenario, rooms: list[str], duration: float, token: str) -> Sample:
    processes = await peers(
        {
            "url": server.url,
            "rooms": rooms,
            "clients": scenario.clients,
            "token": token,
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
    # Only edits made while every process was measuring. Every other client of the room should see each edit:
    # each (edit, receiver) pair is one latency, and a pair that never arrived is counted, not dropped.
    window = (max(m["at"] for m in measuring), min(d["at"] for d in done))
    receipts: dict[str, list[float]] = {}
    for report in reports:
        for edit, times in report["receipts"].items():
            receipts.setdefault(edit, []).extend(times)
    sends = {e: at for r in reports for e, at in r["sends"].items() if window[0] <= at <= window[1]}
    latencies = [t - at for e, at in sends.items() for t in receipts.get(e, [])]
    receivers = scenario.clients - 1
    undelivered = sum(max(0, receivers - len(receipts.get(e, []))) for e in sends)
    return Sample(latencies, undelivered, cpu_end - cpu_start, wall_end - wall_start, len(sends))


def summarize(samples: list[Sample]) -> Result:
    latencies = sorted(x for s in samples for x in s.latencies) or [float("nan")]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    cpu = sum(s.cpu_seconds for s in samples) / max(1e-9, sum(s.wall_seconds for s in samples))
    delivered = sum(len(s.latencies) for s in samples)
    undelivered = sum(s.undelivered for s in samples)
    sent = sum(s.sent for s in samples)
    per_edit = sum(s.cpu_seconds for s in samples) / max(1, sent) * 1e6
    return Result(statistics.median(latencies), p99, cpu, per_edit, delivered, undelivered, sent)


async def main(duration: float, quick: bool, only: str | None, rounds: int) -> None:
    npm_ci()
    scenarios = SCENARIOS[:2] if quick else SCENARIOS
    if only:
        scenarios = [s for s in scenarios if only in s.name]
    needed = IDLE_ROOMS + rounds * sum(s.rooms for s in scenarios)
    results: dict[str, dict[str, Result]] = {}
    memory: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ours = Ours(Path(tmp))
        ours.user, room_ids = await make_rooms(ours.database, needed)
        print(f"our server: {'classroom serve' if SERVER[0] == 'serve' else 'tests/collab/serve_app.py'}", OUR_ARGS)
        servers = {"ours": await ours.start(room_ids), "node": await start_node()}
        token = {"ours": ours.token, "node": lambda: "bench"}
        try:
            ids = iter(room_ids)
            idle_rooms = [next(ids) for _ in range(IDLE_ROOMS)]
            for name, server in servers.items():  # first, on fresh servers
                memory[name] = await idle_memory(server, idle_rooms, token[name]())
                print(f"{name}: {memory[name] / 1024:.1f} KiB per idle connection", flush=True)
            for scenario in scenarios:
                samples: dict[str, list[Sample]] = {"ours": [], "node": []}
                # Interleaved rounds: the shared machine's load drifts; both servers see the same drift.
                for _ in range(rounds):
                    rooms = [next(ids) for _ in range(scenario.rooms)]
                    for name, server in servers.items():
                        samples[name].append(await run(server, scenario, rooms, duration / rounds, token[name]()))
                for name in servers:
                    result = results.setdefault(scenario.name, {})[name] = summarize(samples[name])
                    print(
                        f"{name}: {scenario.name}: p50 {result.p50:.1f} ms p99 {result.p99:.1f} ms "
                        f"cpu {result.cpu:.0%}, {result.cpu_per_edit_us:.0f} us/edit "
                        f"({result.sent} edits: {result.delivered} pairs delivered, "
                        f"{result.undelivered} undelivered)",
                        flush=True,
                    )
        finally:
            for server in servers.values():
                await server.stop()
    print()
    print(
        f"{'scenario':<26}{'ours p50/p99 ms':>18}{'node p50/p99 ms':>18}{'p99 ratio (target)':>20}"
        f"{'cpu/edit ours/node us':>23}{'cpu ratio (target)':>20}{'undelivered ours/node':>23}"
    )
    missed: list[str] = []
    for scenario in scenarios:
        ours, node = results[scenario.name]["ours"], results[scenario.name]["node"]
        p99_ratio, cpu_ratio = ours.p99 / node.p99, ours.cpu_per_edit_us / max(1e-9, node.cpu_per_edit_us)
        if not p99_ratio <= P99_RATIO_TARGET:
            missed.append(f"{scenario.name} p99")
        if not cpu_ratio <= CPU_RATIO_TARGET:
            missed.append(f"{scenario.name} cpu")
        print(
            f"{scenario.name:<26}{ours.p50:>8.1f} /{ours.p99:>7.1f}{node.p50:>9.1f} /{node.p99:>7.1f}"
            f"{p99_ratio:>10.2f}x (<={P99_RATIO_TARGET:.1f}x)"
            f"{ours.cpu_per_edit_us:>12.0f} /{node.cpu_per_edit_us:>8.0f}"
            f"{cpu_ratio:>10.2f}x (<={CPU_RATIO_TARGET:.1f}x)"
            f"{ours.undelivered:>12} /{node.undelivered:>8}"
        )
    idle = memory["ours"] / 1024
    if not idle <= IDLE_KIB_TARGET:
        missed.append("idle connection memory")
    print(
        f"{'memory per idle connection':<26}{idle:>14.1f} KiB{memory['node'] / 1024:>14.1f} KiB"
        f"   target <= {IDLE_KIB_TARGET:.0f} KiB ({memory['ours'] / memory['node']:.2f}x node)"
    )
    print(f"targets missed: {', '.join(missed)}" if missed else "every target met")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=12.0, help="measured seconds per scenario and server")
    parser.add_argument("--quick", action="store_true", help="only the first two scenarios")
    parser.add_argument("--only", help="only scenarios whose name contains this")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved ours/node runs per scenario")
    parser.add_argument("--client-procs", type=int, default=1, help="Node processes per room's clients")
    parser.add_argument("--server", choices=("serve", "stand-in"), default="serve", help="our server (see above)")
    arguments = parser.parse_args()
    CLIENT_PROCESSES[0] = arguments.client_procs
    SERVER[0] = arguments.server
    asyncio.run(main(arguments.duration, arguments.quick, arguments.only, arguments.rounds))
