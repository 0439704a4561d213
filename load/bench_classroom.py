"""Benchmark of a class under load: 60 students in 30 pair rooms, typing with cursors and running code, and an
instructor watching the live grid, all at once on the real ``classroom serve`` (SQLite, a local Ray, the default
slots and warm sandboxes, sized to the machine).

- Typing: stock y-websocket clients in Node (load/collab/peers.mjs), two per pair room, each student with their
  own socket token; each makes ``--rate`` edits/s (2) and moves their cursor (awareness) with every edit. Every
  (edit, partner) pair is one latency; a pair that never arrives is an error.
- Running: every student submits a short program every ``--run-every`` s (30; the first at a random offset, so
  the class does not click Run in unison) over the API path (``POST /api/runs`` + ``WS /api/runs/{id}/stream``).
  Queue wait is submit -> the stream's ``started`` message, first byte is submit -> first stdout message,
  both as the student's client sees them. A refused submit, a broken stream or a verdict other than ``ok`` is
  an error.
- The instructor: the class channel with the live grid (``WS /api/classes/{id}/events?grid=1``) open all along;
  it closing early is an error.
- The server: CPU of the ``classroom serve`` process, and of its whole process tree (Ray, slots, sandboxes,
  counting exited children through their parents), both in cores; peak RSS of the process and of the tree.

Targets (issue 15): p99 edit -> partner <= 50 ms, p99 queue wait <= 0.5 s, 0 errors, on this 2-core machine.

    .venv/bin/python load/bench_classroom.py [--duration 120] [--students 60] [--rate 2] [--run-every 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "load"))

import bench_collab as collab  # noqa: E402  (the Node client harness: npm ci, peers.mjs processes)

CODE = "print(sum(range(10)))"
EDIT_P99_TARGET_MS = 50.0
QUEUE_P99_TARGET_S = 0.5


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


@dataclass
class Class:
    id: str
    instructor_ws: str
    rooms: list[str]
    students: list[list[dict[str, str]]]  # per room, per student: api and ws tokens


async def make_class(data: Path, students: int) -> Class:
    """An instructor, a class, ``students`` enrolled students and their pair rooms (2 writers each)."""
    from classroom import db
    from classroom.auth import tokens
    from classroom.settings import load_settings
    from classroom.tables import Class as ClassRow
    from classroom.tables import Enrollment, Room, RoomMember, User

    settings = load_settings({"CLASSROOM_DATA_DIR": str(data)}, dotenv=None)
    db.bind(db.engine_from_url(settings.database_url))
    now = datetime.now(UTC)
    teacher = User(id=uuid.uuid4(), role="instructor", display_name="Teacher", created_at=now)
    await teacher.save().run()
    klass = ClassRow(id=uuid.uuid4(), name="Bench", owner=teacher.id, join_code=uuid.uuid4().hex[:8], created_at=now)
    await klass.save().run()

    def creds(user: uuid.UUID) -> dict[str, str]:
        return {
            "api": tokens.issue_jwt(settings, user, tokens.API_AUDIENCE, 3600),
            "ws": tokens.issue_jwt(settings, user, tokens.WS_AUDIENCE, 3600),
        }

    rooms: list[str] = []
    people: list[list[dict[str, str]]] = []
    for pair in range(students // 2):
        room = Room(id=uuid.uuid4(), klass=klass.id, name=f"pair {pair}", kind="pair", created_by=teacher.id,
                    created_at=now)  # fmt: skip
        await room.save().run()
        members = []
        for _ in range(2):
            user = User(id=uuid.uuid4(), display_name=f"Student {len(rooms) * 2 + len(members)}", created_at=now)
            await user.save().run()
            await Enrollment(id=uuid.uuid4(), klass=klass.id, user=user.id, role="student", created_at=now).save()
            await RoomMember(id=uuid.uuid4(), room=room.id, user=user.id, role="writer", created_at=now).save()
            members.append(creds(user.id))
        rooms.append(str(room.id))
        people.append(members)
    return Class(str(klass.id), creds(teacher.id)["ws"], rooms, people)


class Tree:
    """CPU and RSS of the server process and of its whole process tree."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss = 0
        self.peak_tree_rss = 0

    def _live(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu(self) -> tuple[float, float]:
        """(server process CPU s, tree CPU s): a live process's own time plus what its reaped children used."""
        own = tree = 0.0
        for process in self._live():
            try:
                t = process.cpu_times()
            except psutil.Error:
                continue
            total = t.user + t.system + t.children_user + t.children_system
            tree += total
            if process.pid == self.root.pid:
                own = t.user + t.system
        return own, tree

    def sample_rss(self) -> None:
        total = 0
        for process in self._live():
            try:
                rss = int(process.memory_info().rss)
            except psutil.Error:
                continue
            total += rss
            if process.pid == self.root.pid:
                self.peak_rss = max(self.peak_rss, rss)
        self.peak_tree_rss = max(self.peak_tree_rss, total)


@dataclass
class Runs:
    queue_waits: list[float] = field(default_factory=list)  # s
    first_bytes: list[float] = field(default_factory=list)  # ms
    done: int = 0
    errors: list[str] = field(default_factory=list)


async def one_run(http: httpx.AsyncClient, ws_base: str, class_id: str, creds: dict[str, str], runs: Runs) -> None:
    t0 = time.perf_counter()
    response = await http.post(
        "/api/runs", json={"code": CODE, "class_id": class_id}, headers={"authorization": f"Bearer {creds['api']}"}
    )
    if response.status_code != 202:
        runs.errors.append(f"submit {response.status_code}: {response.text[:120]}")
        return
    run_id = response.json()["id"]
    started = first = None
    verdict = "closed"
    async with websockets.connect(f"{ws_base}/api/runs/{run_id}/stream?token={creds['ws']}") as ws:
        async for raw in ws:
            message = json.loads(raw)
            now = time.perf_counter()
            if message["type"] == "started" and started is None:
                started = now
            elif message["type"] == "stdout" and first is None:
                first = now
            elif message["type"] == "exit":
                verdict = str(message["verdict"])
                break
    if verdict != "ok":
        runs.errors.append(f"run {run_id}: verdict {verdict}")
        return
    runs.done += 1
    if started is not None:
        runs.queue_waits.append(started - t0)
    if first is not None:
        runs.first_bytes.append((first - t0) * 1000)


async def student(base: str, class_id: str, creds: dict[str, str], every: float, stop: asyncio.Event,
                  runs: Runs) -> None:  # fmt: skip
    """Run the short program every ``every`` s (the first at a random offset) until ``stop``."""
    ws_base = base.replace("http", "ws", 1)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        due = time.monotonic() + random.uniform(0, every)
        while True:
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, due - time.monotonic()))
                return
            except TimeoutError:
                pass
            due += every
            try:
                await one_run(http, ws_base, class_id, creds, runs)
            except Exception as exc:  # a broken stream or connection is an error of the run, not of the bench
                runs.errors.append(f"run: {type(exc).__name__}: {exc}"[:200])


async def instructor(ws_base: str, klass: Class, stop: asyncio.Event, seen: dict[str, Any]) -> None:
    url = f"{ws_base}/api/classes/{klass.id}/events?token={klass.instructor_ws}&grid=1"
    try:
        async with websockets.connect(url, max_size=1 << 24) as ws:
            while not stop.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                seen["bytes"] += len(frame.encode() if isinstance(frame, str) else frame)
                seen["messages"] += 1
    except Exception as exc:
        seen["error"] = f"grid: {type(exc).__name__}: {exc}"[:200]
    else:
        if not stop.is_set():
            seen["error"] = "grid: the instructor's socket closed early"


async def wait_ready(base: str, process: asyncio.subprocess.Process, log: Path, slots: int) -> dict[str, Any]:
    """Until every slot of the server is ready (its /readyz): the load starts on a whole execution plane."""
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        for _ in range(900):
            if process.returncode is not None:
                raise RuntimeError(f"classroom serve exited with {process.returncode}; see {log}")
            try:
                runs = (await http.get("/readyz")).json().get("components", {}).get("runs", {})
                detail = runs.get("detail") or {}
                if runs.get("status") == "ok" and detail.get("slots_ready", 0) >= slots:
                    return dict(detail)
            except (httpx.HTTPError, ValueError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"classroom serve not ready in 180 s; see {log}")


async def main(args: argparse.Namespace) -> int:
    collab.npm_ci()
    port = collab._free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as tmp:
        data = Path(tmp)
        env = {
            **os.environ,
            "CLASSROOM_DATA_DIR": str(data),
            "CLASSROOM_HOST": "127.0.0.1",
            "CLASSROOM_PORT": str(port),
            "CLASSROOM_LOG_LEVEL": "warning",
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        log = data / "server.log"
        with log.open("w") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "classroom", "serve", cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
            )  # fmt: skip
        try:
            from classroom.settings import load_settings

            sized = load_settings({k: v for k, v in env.items() if k.startswith("CLASSROOM_")}, dotenv=None)
            ready = await wait_ready(base, process, log, sized.sandbox_slots)
            klass = await make_class(data, args.students)
            await asyncio.sleep(2.0)  # the warm pools fill
            return await measure(args, base, process, klass, ready)
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()


async def measure(
    args: argparse.Namespace, base: str, process: asyncio.subprocess.Process, klass: Class, ready: dict[str, Any]
) -> int:
    ws_base = base.replace("http", "ws", 1)
    stop = asyncio.Event()
    grid: dict[str, Any] = {"bytes": 0, "messages": 0}
    watcher = asyncio.create_task(instructor(ws_base, klass, stop, grid))
    typists = (
        await collab.peers(
            {
                "url": f"{ws_base}/collab",
                "rooms": klass.rooms,
                "clients": 2,
                "tokens": [[s["ws"] for s in pair] for pair in klass.students],
                "mode": "edit",
                "rate": args.rate * 2,  # per room: both students type
                "warmup": 3000,
                "duration": args.duration * 1000,
                "cursors": True,
            }
        )
    )[0]
    synced = int((await collab._line(typists))["synced"])
    measuring = await collab._line(typists)
    tree = Tree(process.pid)
    cpu0, wall0 = tree.cpu(), time.monotonic()
    runs = Runs()
    every = [pair for room in klass.students for pair in room]
    runners = [asyncio.create_task(student(base, klass.id, c, args.run_every, stop, runs)) for c in every]

    async def sample() -> None:
        while not stop.is_set():
            tree.sample_rss()
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample())
    done = await asyncio.wait_for(collab._line(typists), args.duration + 120)
    cpu1, wall1 = tree.cpu(), time.monotonic()
    stop.set()
    await asyncio.gather(*runners, sampler, watcher)
    report = await asyncio.wait_for(collab._line(typists), 120)
    await typists.wait()

    window = (measuring["at"], done["at"])
    sends = {e: at for e, at in report["sends"].items() if window[0] <= at <= window[1]}
    receipts: dict[str, list[float]] = report["receipts"]
    latencies = [t - at for e, at in sends.items() for t in receipts.get(e, [])]
    undelivered = sum(max(0, 1 - len(receipts.get(e, []))) for e in sends)
    errors = list(runs.errors)
    if synced < args.students:
        errors.append(f"typists: {args.students - synced} of {args.students} never synced")
    if undelivered:
        errors.append(f"typing: {undelivered} edits never reached the partner")
    if "error" in grid:
        errors.append(grid["error"])
    wall = wall1 - wall0
    edit_p50, edit_p99 = (statistics.median(latencies), pct(latencies, 99)) if latencies else (float("nan"),) * 2
    queue_p99 = pct(runs.queue_waits, 99)
    met = edit_p99 <= EDIT_P99_TARGET_MS and queue_p99 <= QUEUE_P99_TARGET_S and not errors
    print(
        f"classroom load: {args.students} students in {len(klass.rooms)} pair rooms, {args.rate:g} edits/s each with "
        f"cursors, a run each every {args.run_every:g} s, an instructor's live grid; {wall:.0f} s measured"
    )
    print(f"server: {ready.get('slots_ready')} slot(s) (the machine-sized default)")
    print(f"  edit -> partner      p50 {edit_p50:6.1f} ms  p99 {edit_p99:6.1f} ms   target p99 <= "
          f"{EDIT_P99_TARGET_MS:.0f} ms   ({len(sends)} edits, {len(latencies)} delivered)")  # fmt: skip
    print(f"  queue wait           p50 {statistics.median(runs.queue_waits or [float('nan')]):6.3f} s   p99 "
          f"{queue_p99:6.3f} s    target p99 <= {QUEUE_P99_TARGET_S} s   ({runs.done} runs ok)")  # fmt: skip
    print(f"  run first byte       p50 {statistics.median(runs.first_bytes or [float('nan')]):6.1f} ms  p99 "
          f"{pct(runs.first_bytes, 99):6.1f} ms")  # fmt: skip
    print(f"  errors               {len(errors)}   target 0" + "".join(f"\n    {e}" for e in errors[:10]))
    print(f"  server CPU           serve process {(cpu1[0] - cpu0[0]) / wall:.2f} cores, whole tree (Ray, slots, "
          f"sandboxes) {(cpu1[1] - cpu0[1]) / wall:.2f} cores")  # fmt: skip
    print(f"  server RSS (peak)    serve process {tree.peak_rss / 2**20:.0f} MiB, whole tree "
          f"{tree.peak_tree_rss / 2**20:.0f} MiB")  # fmt: skip
    print(f"  instructor's grid    {grid['bytes'] / wall / 1024:.1f} KB/s, {grid['messages'] / wall:.1f} messages/s")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load}; {'every target met' if met else 'targets missed'}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=120.0, help="measured seconds (>= 120 for the target)")
    parser.add_argument("--students", type=int, default=60, help="students (an even number: pairs)")
    parser.add_argument("--rate", type=float, default=2.0, help="edits per second per student")
    parser.add_argument("--run-every", type=float, default=30.0, help="seconds between one student's runs")
    sys.exit(asyncio.run(main(parser.parse_args())))
