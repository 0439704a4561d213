"""Benchmark of the live grid: what 60 typing students cost the instructor's browser and the server.

A real ``classroom serve`` (SQLite, no Ray: the grid does not use it) gets a class of 60 students, each with their
personal room. 60 stock y-websocket clients in Node (load/collab/peers.mjs, one per room) type 2 edits/s each.
Each round measures the server process's CPU twice, back to back in the same run: without the grid (the
baseline: the same 60 typists) and with an instructor's grid open (``WS /api/classes/{id}/events?grid=1``),
whose bytes per second are counted. Rounds alternate (the shared machine's load drifts) and are averaged.

Targets (issue 11): the instructor's grid <= 30 KB/s and the server's extra CPU <= 10% of one core.

    .venv/bin/python load/bench_console.py [--students 60] [--rate 2] [--duration 15] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import websockets

ROOT = Path(__file__).resolve().parent.parent
LOAD_DIR = ROOT / "load" / "collab"
PASSWORD = "bench-password-0123"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def npm_ci() -> None:
    if not (LOAD_DIR / "node_modules" / "y-websocket").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=LOAD_DIR, check=True, capture_output=True)


async def start_server(data: Path, port: int) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CLASSROOM_DATA_DIR": str(data),
        "CLASSROOM_PORT": str(port),
        "CLASSROOM_ALLOWED_ORIGINS": base,
        "CLASSROOM_START_RAY": "false",
        "CLASSROOM_JOINS_PER_TEN_MINUTES": "1000",
    }
    cli = [sys.executable, "-m", "classroom"]
    for args in (["migrate"], ["admin", "create-instructor", "bench", "--name", "Bench", "--password", PASSWORD]):
        await asyncio.to_thread(subprocess.run, [*cli, *args], env=env, cwd=ROOT, check=True, capture_output=True)
    process = await asyncio.create_subprocess_exec(
        *cli, "serve", env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return process, env
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("classroom serve did not start")


async def make_class(base: str, students: int) -> tuple[str, list[str], httpx.AsyncClient]:
    """The instructor's class and the personal rooms of ``students`` who joined it."""
    teacher = httpx.AsyncClient(base_url=base, timeout=30)
    await teacher.post("/api/login", json={"username": "bench", "password": PASSWORD})
    csrf = {"X-CSRF-Token": teacher.cookies.get("classroom_csrf") or ""}
    made = (await teacher.post("/api/classes", json={"name": "Bench class"}, headers=csrf)).json()
    rooms = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as student:
        for n in range(students):
            student.cookies.clear()
            joined = await student.post("/api/join", json={"join_code": made["join_code"], "name": f"Student {n}"})
            joined.raise_for_status()
    info = (await teacher.get(f"/api/classes/{made['id']}")).json()
    rooms = [r["id"] for r in info["rooms"] if r["kind"] == "personal"]
    return str(made["id"]), rooms, teacher


async def ws_token(teacher: httpx.AsyncClient) -> str:
    csrf = {"X-CSRF-Token": teacher.cookies.get("classroom_csrf") or ""}
    return str((await teacher.post("/api/tokens", headers=csrf)).json()["token"])


async def typists(url: str, rooms: list[str], token: str, rate: float, duration: float) -> asyncio.subprocess.Process:
    config = {"url": url, "rooms": rooms, "clients": 1, "token": token, "mode": "edit", "rate": rate,
              "duration": duration * 1000, "warmup": 3000}
    return await asyncio.create_subprocess_exec(
        "node", str(LOAD_DIR / "peers.mjs"), json.dumps(config), cwd=LOAD_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=1 << 26,
    )


async def until(process: asyncio.subprocess.Process, event: str) -> None:
    assert process.stdout is not None
    while True:
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Node clients ended before {event!r}")
        if json.loads(line).get("event") == event:
            return


async def phase(server: psutil.Process, base_ws: str, class_id: str, rooms: list[str], teacher: httpx.AsyncClient,
                rate: float, duration: float, grid: bool) -> dict[str, float]:
    """One measurement: 60 typists for ``duration`` s, with or without the instructor's grid open."""
    received = {"bytes": 0, "messages": 0}
    counting = asyncio.Event()
    stop = asyncio.Event()

    async def instructor() -> None:
        url = f"{base_ws}/api/classes/{class_id}/events?token={await ws_token(teacher)}&grid=1"
        async with websockets.connect(url, max_size=1 << 24) as ws:
            await ws.recv()  # the snapshot is not part of the steady state
            while not stop.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                if counting.is_set():
                    received["bytes"] += len(frame.encode() if isinstance(frame, str) else frame)
                    received["messages"] += 1

    watcher = asyncio.create_task(instructor()) if grid else None
    nodes = await typists(f"{base_ws}/collab", rooms, await ws_token(teacher), rate, duration)
    await until(nodes, "measuring")
    counting.set()
    server.cpu_percent(None)
    started = time.monotonic()
    await until(nodes, "done")
    cpu = server.cpu_percent(None)
    elapsed = time.monotonic() - started
    counting.clear()
    stop.set()
    if watcher is not None:
        await watcher
    await nodes.wait()
    return {"cpu": cpu, "bytes_per_s": received["bytes"] / elapsed, "messages_per_s": received["messages"] / elapsed}


async def main(args: argparse.Namespace) -> None:
    npm_ci()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-console-") as data:
        process, _ = await start_server(Path(data), port)
        try:
            class_id, rooms, teacher = await make_class(base, args.students)
            server = psutil.Process(process.pid)
            # The rooms load once (the Node clients' first round), so both phases meet warm rooms.
            await phase(server, f"ws://127.0.0.1:{port}", class_id, rooms, teacher, args.rate, 3, grid=False)
            without, with_grid = [], []
            for _ in range(args.rounds):
                without.append(await phase(server, f"ws://127.0.0.1:{port}", class_id, rooms, teacher, args.rate,
                                           args.duration, grid=False))
                with_grid.append(await phase(server, f"ws://127.0.0.1:{port}", class_id, rooms, teacher, args.rate,
                                             args.duration, grid=True))
            await teacher.aclose()
        finally:
            process.terminate()
            await process.wait()
    base_cpu = sum(r["cpu"] for r in without) / len(without)
    grid_cpu = sum(r["cpu"] for r in with_grid) / len(with_grid)
    kbs = sum(r["bytes_per_s"] for r in with_grid) / len(with_grid) / 1024
    msgs = sum(r["messages_per_s"] for r in with_grid) / len(with_grid)
    print(f"live grid: {len(rooms)} students typing {args.rate:g} edits/s each, {args.rounds} round(s) of "
          f"{args.duration:g} s")
    print(f"  instructor's grid socket: {kbs:.1f} KB/s ({msgs:.1f} messages/s; target <= 30 KB/s)")
    print(f"  server CPU without the grid: {base_cpu:.1f}% of a core; with it: {grid_cpu:.1f}%")
    print(f"  extra CPU for the grid: {grid_cpu - base_cpu:+.1f}% of one core (target <= 10%); "
          f"ratio with/without {grid_cpu / max(base_cpu, 0.1):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--rate", type=float, default=2.0, help="edits per second per student")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
