"""The run path, as a student and as an API client feel it (issue 15), side by side with bare Python in one run.

Starts ``classroom serve`` (SQLite, a local Ray, ``--slots`` slots with ``--warm`` warm sandboxes each), imports a
one-lesson course whose starter is ``print('x')``, and gives each of ``--users`` students a room on it. Then, in
``--rounds`` rounds (interleaved, so that every path sees the same load from the rest of the machine):

- **bare**: ``/usr/bin/python3 -c pass`` start -> exit, and ``-c "print('x')"`` start -> first stdout byte;
- **api**: ``POST /api/runs {room_id}`` + ``WS /api/runs/{id}/stream`` (socket token in hand) -> first stdout byte;
- **socket**: one ``{type: run}`` frame on the room's socket already open (``WS /api/rooms/{id}/live``) -> the first
  stdout frame of that run on the same socket;
- **browser**: in Debian's Chromium (Playwright), the room page open and signed in: Run click -> the first output in
  the console, timed inside the page (click to DOM mutation).

Targets (ratios to bare ``python3 -c pass`` p50 / p99 measured in the same run): browser p50 <= 1.0x and
p99 <= 2.0x; API p50 <= 1.5x. With ``--profile SECONDS``, py-spy (if installed) samples the server for that long
while socket runs go on, and prints the top of the profile.

    .venv/bin/python load/bench_runpath.py [--rounds 40] [--slots 2] [--warm 2] [--no-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_runs import bare_interpreter, free_port, pct, start_server, stop_server, wait_ready  # noqa: E402

CODE = "print('x')"
LESSON = f"""---
title: Bench
starter_files:
  main.py: |
    {CODE}
---
Run it.
"""
CHROMIUM = "/usr/bin/chromium"
TARGETS = {"browser_p50": 1.0, "browser_p99": 2.0, "api_p50": 1.5}


async def bare_pass(exe: str) -> float:
    t0 = time.perf_counter()
    process = await asyncio.create_subprocess_exec(exe, "-c", "pass")
    await process.wait()
    return (time.perf_counter() - t0) * 1000


async def bare_print(exe: str) -> float:
    t0 = time.perf_counter()
    process = await asyncio.create_subprocess_exec(exe, "-c", CODE, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    await process.stdout.read(1)
    first = (time.perf_counter() - t0) * 1000
    await process.communicate()
    return first


async def setup(base: str, env: dict[str, str], n: int, data: Path) -> tuple[list[dict[str, Any]], Any]:
    """A class with ``n`` students, each with a personal room on the bench lesson; their credentials."""
    from classroom import db
    from classroom.auth import tokens
    from classroom.settings import load_settings
    from classroom.tables import Enrollment, User

    course = data / "bench-course"
    course.mkdir()
    (course / "course.yaml").write_text("name: bench\ntitle: Bench\n")
    (course / "01-x.md").write_text(LESSON)
    command = [sys.executable, "-m", "classroom", "course", "import", str(course)]
    await asyncio.to_thread(subprocess.run, command, env=env, cwd=ROOT, check=True, capture_output=True)
    settings = load_settings({k: v for k, v in env.items() if k.startswith("CLASSROOM_")}, dotenv=None)
    db.bind(db.engine_from_url(settings.database_url))
    now = datetime.now(UTC)
    teacher = User(id=uuid.uuid4(), role="instructor", display_name="bench teacher", created_at=now)
    await teacher.save().run()
    bearer = {"authorization": f"Bearer {tokens.issue_jwt(settings, teacher.id, tokens.API_AUDIENCE, 3600)}"}
    users = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        klass = (await http.post("/api/classes", json={"name": "bench"}, headers=bearer)).json()
        for i in range(n):
            user = User(id=uuid.uuid4(), display_name=f"bench{i}", created_at=now)
            await user.save().run()
            enrolled = Enrollment(
                id=uuid.uuid4(), klass=uuid.UUID(klass["id"]), user=user.id, role="student", created_at=now
            )
            await enrolled.save().run()
            body = {"name": f"room {i}", "kind": "personal", "members": [str(user.id)], "lesson": "bench/x"}
            room = await http.post(f"/api/classes/{klass['id']}/rooms", json=body, headers=bearer)
            assert room.status_code in (200, 201), room.text
            session, csrf = tokens.new_session(settings, user.id)
            users.append(
                {
                    "room": str(room.json()["id"]),
                    "api": tokens.issue_jwt(settings, user.id, tokens.API_AUDIENCE, 3600),
                    "ws": tokens.issue_jwt(settings, user.id, tokens.WS_AUDIENCE, 3600),
                    "session": session,
                    "csrf": csrf,
                }
            )
    return users, settings


async def api_run(http: httpx.AsyncClient, ws_base: str, user: dict[str, Any]) -> float:
    """POST + stream socket, token in hand: submit -> first stdout byte (ms)."""
    t0 = time.perf_counter()
    response = await http.post(
        "/api/runs", json={"room_id": user["room"]}, headers={"authorization": f"Bearer {user['api']}"}
    )
    if response.status_code != 202:
        raise RuntimeError(f"submit: {response.status_code} {response.text}")
    ACCEPTED["api"].append((time.perf_counter() - t0) * 1000)
    first = None
    async with websockets.connect(f"{ws_base}/api/runs/{response.json()['id']}/stream?token={user['ws']}") as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "stdout" and first is None:
                first = (time.perf_counter() - t0) * 1000
            if message["type"] == "exit":
                if message["verdict"] != "ok":
                    raise RuntimeError(f"api run: {message}")
                break
    assert first is not None
    return first


ACCEPTED: dict[str, list[float]] = {"api": [], "socket": []}  # submit -> the answer that it is accepted (ms)


async def socket_run(ws: Any, ref: str) -> float:
    """One run frame on an open room socket: frame sent -> the run's first stdout frame (ms)."""
    t0 = time.perf_counter()
    await ws.send(json.dumps({"type": "run", "ref": ref, "interactive": False}))
    run_id = first = None
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if message["type"] == "accepted" and message.get("ref") == ref:
            run_id = message["run_id"]
            ACCEPTED["socket"].append((time.perf_counter() - t0) * 1000)
        elif message["type"] == "error" and message.get("ref") == ref:
            raise RuntimeError(f"socket run: {message}")
        elif run_id is not None and message.get("run_id") == run_id:
            if message["type"] == "stdout" and first is None:
                first = (time.perf_counter() - t0) * 1000
            if message["type"] == "exit":
                break
    assert first is not None
    return first


CLICK_TO_OUTPUT = """async () => {
  const con = document.querySelector('#console');
  const run = document.querySelector('#run');
  const seen = new Promise((resolve) => {
    const obs = new MutationObserver(() => {
      if (con.querySelector('.con-out')) { obs.disconnect(); resolve(performance.now()); }
    });
    obs.observe(con, { childList: true, subtree: true, characterData: true });
  });
  const t0 = performance.now();
  run.click();
  return (await seen) - t0;
}"""


class Browser:
    """One Chromium page per student room, signed in with the student's session cookie."""

    def __init__(self, base: str, user: dict[str, Any]) -> None:
        from playwright.async_api import async_playwright

        self.base, self.user, self._pw_cm = base, user, async_playwright()

    async def start(self) -> None:
        self.pw = await self._pw_cm.__aenter__()
        self.browser = await self.pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        context = await self.browser.new_context(base_url=self.base)
        host = self.base.split("//", 1)[1].split(":")[0]
        await context.add_cookies(
            [
                {"name": "classroom_session", "value": self.user["session"], "domain": host, "path": "/"},
                {"name": "classroom_csrf", "value": self.user["csrf"], "domain": host, "path": "/"},
            ]
        )
        self.page = await context.new_page()
        await self.page.goto(f"/rooms/{self.user['room']}")
        await self.page.locator(".cm-content").wait_for()
        await self.page.wait_for_function("() => document.querySelector('.cm-content').textContent.includes('print')")
        await self.page.wait_for_function("() => document.querySelector('#runs li') !== null")  # the feed is up
        await self.run()  # the first run warms the page's code paths

    async def run(self) -> float:
        took = float(await self.page.evaluate(CLICK_TO_OUTPUT))
        await self.page.wait_for_function("() => !document.querySelector('#run').disabled", timeout=60_000)
        return took

    async def stop(self) -> None:
        await self.browser.close()
        await self._pw_cm.__aexit__(None, None, None)


def line(name: str, values: list[float], base_p50: float, base_p99: float, target: str = "") -> str:
    p50, p99 = statistics.median(values), pct(values, 99)
    return f"{name:<34} {p50:8.1f} {p99:8.1f}   {p50 / base_p50:6.2f}x {p99 / base_p99:6.2f}x   {target}"


def exists(path: str) -> bool:
    return os.path.exists(path)


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


async def profile(seconds: float, pid: int, out: Path) -> str:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not exists(spy):
        return "py-spy is not installed (pip install py-spy) — no profile"
    process = await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--format",
        "raw",
        "--output",
        str(out),
        "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        return f"py-spy failed: {err.decode()[-300:]}"
    return str(out)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--warm", type=int, default=2)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--profile", type=float, default=0.0, help="seconds of py-spy on the server (socket runs)")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-runpath-"))
    port = free_port()
    env = {
        **os.environ,
        "CLASSROOM_DATA_DIR": str(data),
        "CLASSROOM_PORT": str(port),
        "CLASSROOM_SANDBOX_SLOTS": str(args.slots),
        "CLASSROOM_WARM_SANDBOXES": str(args.warm),
        "CLASSROOM_RUNS_PER_MINUTE": "1000000",
        "CLASSROOM_LOG_LEVEL": "warning",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    server = start_server(env, data / "server.log")
    base = f"http://127.0.0.1:{port}"
    ws_base = base.replace("http", "ws", 1)
    browser: Browser | None = None
    try:
        if not await wait_ready(base, args.slots, 180):
            print(f"server not ready; see {data}/server.log", file=sys.stderr)
            return 1
        users, _settings = await setup(base, env, 3, data)
        await asyncio.sleep(2.0)  # every slot fills its warm pool
        exe = bare_interpreter()
        if not args.no_browser and exists(CHROMIUM):
            browser = Browser(base, users[2])
            await browser.start()
        results: dict[str, list[float]] = {"pass": [], "print": [], "api": [], "socket": [], "browser": []}
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            room_ws = await websockets.connect(f"{ws_base}/api/rooms/{users[1]['room']}/live?token={users[1]['ws']}")
            assert json.loads(await room_ws.recv())["type"] == "snapshot"
            await api_run(http, ws_base, users[0])  # warm both paths once
            await socket_run(room_ws, "warm")
            paths: list[tuple[str, Any]] = [
                ("api", lambda i: api_run(http, ws_base, users[0])),
                ("socket", lambda i: socket_run(room_ws, str(i))),
            ]
            if browser is not None:
                paths.append(("browser", lambda i: browser.run()))
            for i in range(args.rounds):
                results["pass"].append(await bare_pass(exe))
                results["print"].append(await bare_print(exe))
                # Rotated: the run before refills its slot's warm pool meanwhile, a cost no path should always pay.
                for name, measure in paths[i % len(paths) :] + paths[: i % len(paths)]:
                    results[name].append(await measure(i))
            profiled = ""
            if args.profile > 0:
                task = asyncio.create_task(profile(args.profile, server.pid, data / "profile.txt"))
                n = 0
                while not task.done():
                    await socket_run(room_ws, f"p{n}")
                    n += 1
                profiled = f"{await task} ({n} socket runs sampled)"
            await room_ws.close()
        load = load_average()
        base50, base99 = statistics.median(results["pass"]), pct(results["pass"], 99)
        print(f"load average {load}; {args.rounds} rounds, interleaved; server: {args.slots} slots x {args.warm} warm")
        print(f"{'':34} {'p50 ms':>8} {'p99 ms':>8}   {'x pass p50':>7} {'p99':>7}   target")
        print(line(f"bare {exe} -c pass (start->exit)", results["pass"], base50, base99))
        print(line("bare -c print('x') (->first byte)", results["print"], base50, base99))
        print(line("api: POST + stream socket", results["api"], base50, base99, f"p50 <= {TARGETS['api_p50']}x"))
        print(line("socket: run frame on room socket", results["socket"], base50, base99))
        if results["browser"]:
            target = f"p50 <= {TARGETS['browser_p50']}x, p99 <= {TARGETS['browser_p99']}x"
            print(line("browser: Run click -> console", results["browser"], base50, base99, target))
        else:
            print("browser: skipped (--no-browser, or no /usr/bin/chromium)")
        for name, values in ACCEPTED.items():
            print(
                f"{name}: submit -> accepted p50 {statistics.median(values):.1f} ms, p99 {pct(values, 99):.1f} ms "
                "(the edge's share: auth, limits, access, the room's files, the row; the slot starts meanwhile)"
            )
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            detail = (await http.get("/readyz")).json()["components"]["runs"].get("detail") or {}
        print(
            "server-side submit received -> first output published (every run so far, warm-up and profile too): "
            f"p50 {detail.get('first_output_ms_p50')} ms, p99 {detail.get('first_output_ms_p99')} ms"
        )
        if args.profile > 0:
            print(f"profile: {profiled}")
        return 0
    finally:
        if browser is not None:
            await browser.stop()
        stop_server(server)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
