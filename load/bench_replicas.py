"""Cross-replica run output: how much later a client on another web replica sees a run's first output than a
client on the replica that runs it (the run relay over Redis). Target: within 50 ms.

Two replicas of the app in this process, one database (a SQLite file; both see the same rows) and the local Redis;
replica A has the execution plane (a local Ray with 2 sandbox slots), replica B none, so B's client gets
everything through the relay. For each run: submit an interactive run on A, open its stream on A and on B,
wait until both have seen it start, then send a line of stdin through A: the program prints it at once, and the
figure is how much later B's client gets that output than A's (the relay's own delay; a client that connects
late gets the history on its ``watch`` instead).

    .venv/bin/python load/bench_replicas.py [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CODE = "print(input(), flush=True)\n"
TARGET_MS = 50.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(1200):  # polled: uvicorn offers no event for "listening"
        if server.started:
            break
        await asyncio.sleep(0.05)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


class Follower:
    """One client's stream of a run: ``ready`` once it has seen the run start, then the time of its first output."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ready = asyncio.Event()
        self.first_output = 0.0

    async def follow(self, send: asyncio.Queue[str] | None = None) -> None:
        async with websockets.connect(self.url) as ws:
            sender = asyncio.create_task(self._send(ws, send)) if send is not None else None
            try:
                await self._read(ws)
            finally:
                if sender is not None:
                    sender.cancel()

    async def _read(self, ws: Any) -> None:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] == "started":
                self.ready.set()
            elif message["type"] == "stdout":
                self.first_output = time.perf_counter()
                return
            elif message["type"] == "exit":
                raise RuntimeError(f"run ended without output: {message}")

    @staticmethod
    async def _send(ws: Any, send: asyncio.Queue[str]) -> None:
        await ws.send(json.dumps({"type": "stdin", "data": await send.get()}))


async def main(runs: int) -> None:
    import ray

    from actors import cluster
    from classroom import db
    from classroom.app import create_app
    from classroom.auth import tokens
    from classroom.settings import load_settings
    from classroom.tables import Class, Enrollment, User

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             resources={cluster.SLOT_RESOURCE: 2})  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    common = {
        "CLASSROOM_DATABASE_URL": f"sqlite:///{tmp / 'shared.sqlite'}",
        "CLASSROOM_REDIS_URL": os.environ.get("CLASSROOM_BENCH_REDIS", "redis://127.0.0.1:6379/7"),
        "CLASSROOM_SECRET_KEY": "bench-replicas-share-one-secret-key-0123456789",
        "CLASSROOM_RUNS_PER_MINUTE": "100000",
    }
    await db.migrate(db.engine_from_url(common["CLASSROOM_DATABASE_URL"]))
    replicas = []
    for name, with_ray in (("a", "true"), ("b", "false")):
        env = {**common, "CLASSROOM_DATA_DIR": str(tmp / name), "CLASSROOM_START_RAY": with_ray}
        settings = load_settings(env, dotenv=None)
        app = create_app(settings)
        replicas.append((settings, app, *await serve(app)))
    (settings, app_a, _, _, port_a), (_, _, _, _, port_b) = replicas
    for _ in range(600):  # the slots warm up
        if app_a.state.runs.dispatcher.fleet.ready():
            break
        await asyncio.sleep(0.1)
    now = datetime.now(UTC)
    teacher = User(id=uuid.uuid4(), role="instructor", display_name="t", created_at=now)
    await teacher.save().run()
    klass = Class(id=uuid.uuid4(), name="bench", owner=teacher.id, join_code=uuid.uuid4().hex[:8], created_at=now)
    await klass.save().run()
    student = User(id=uuid.uuid4(), display_name="s", created_at=now)
    await student.save().run()
    await Enrollment(id=uuid.uuid4(), klass=klass.id, user=student.id, role="student", created_at=now).save().run()
    api = tokens.issue_jwt(settings, student.id, tokens.API_AUDIENCE, 3600)
    ws = tokens.issue_jwt(settings, student.id, tokens.WS_AUDIENCE, 3600)
    lags = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}", timeout=30) as http:
        for _ in range(runs + 2):
            body = {"code": CODE, "class_id": str(klass.id), "interactive": True}
            accepted = await http.post("/api/runs", json=body, headers={"authorization": f"Bearer {api}"})
            path = f"/api/runs/{accepted.json()['id']}/stream?token={ws}"
            on_a, on_b = Follower(f"ws://127.0.0.1:{port_a}{path}"), Follower(f"ws://127.0.0.1:{port_b}{path}")
            stdin: asyncio.Queue[str] = asyncio.Queue()
            following = asyncio.gather(on_a.follow(stdin), on_b.follow())
            await asyncio.wait_for(asyncio.gather(on_a.ready.wait(), on_b.ready.wait()), 60)
            stdin.put_nowait("x\n")
            await following
            lags.append((on_b.first_output - on_a.first_output) * 1000)
    lags = lags[2:]  # the first two warm the connections
    print(f"runs: {len(lags)}")
    print(
        f"other replica lag behind the owner: p50 {pct(lags, 50):.1f} ms, p99 {pct(lags, 99):.1f} ms, "
        f"max {max(lags):.1f} ms (target <= {TARGET_MS:.0f} ms: {'met' if pct(lags, 99) <= TARGET_MS else 'MISSED'})"
    )
    for _, _, server, task, _ in reversed(replicas):
        server.should_exit = True
        await task
    ray.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="measured runs (at least 1)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: at least 1")
    asyncio.run(main(args.runs))
