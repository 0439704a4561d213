"""Run pipeline benchmark: HTTP submit -> first output byte and -> exit, p50/p99, runs/s at concurrency 1/4/16,
printed next to a bare ``python3 -c pass`` measured in the same run.

It starts ``classroom serve`` as a subprocess (SQLite in a temp dir, a local Ray, the default slots and warm
sandboxes), makes one user per concurrent client (a student has at most one run at a time), and for each run:
POST /api/runs, open WS /api/runs/{id}/stream, wait for the first stdout message and then for ``exit``.
Target: submit -> first byte p50 <= 1.0x bare python start.

    .venv/bin/python load/bench_runs.py [--runs-per-client 10] [--slots 2] [--warm 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CODE = "print('x')"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bare_interpreter() -> str:
    """The real ``python3`` binary: a version manager's shim (pyenv) would add its own ~200 ms start."""
    for candidate in ["/usr/bin/python3", shutil.which("python3") or "python3"]:
        if os.path.exists(candidate) and "shims" not in candidate:
            return os.path.realpath(candidate)
    return "python3"


def bare_python(exe: str, n: int = 30) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([exe, "-c", "pass"], check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "classroom", "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err
        )


async def make_users(env: dict[str, str], n: int) -> list[str]:
    from classroom import db, tokens
    from classroom.settings import load_settings
    from classroom.tables import User

    settings = load_settings(env, dotenv=None)
    engine = db.engine_from_url(settings.database_url)
    db.bind(engine)
    ids = []
    for i in range(n):
        user = User(id=uuid.uuid4(), display_name=f"bench{i}", created_at=datetime.now(UTC))
        await user.save().run()
        ids.append(user.id)
    return [
        json.dumps(
            {
                "api": tokens.issue_jwt(settings, uid, tokens.API_AUDIENCE, 3600),
                "ws": tokens.issue_jwt(settings, uid, tokens.WS_AUDIENCE, 3600),
            }
        )
        for uid in ids
    ]


async def one_run(http: httpx.AsyncClient, ws_base: str, creds: dict[str, str]) -> tuple[float, float, str, float]:
    t0 = time.perf_counter()
    response = await http.post("/api/runs", json={"code": CODE}, headers={"authorization": f"Bearer {creds['api']}"})
    if response.status_code != 202:
        raise RuntimeError(f"submit: {response.status_code} {response.text}")
    run_id = response.json()["id"]
    accepted = time.perf_counter()
    first = None
    verdict = "?"
    async with websockets.connect(f"{ws_base}/api/runs/{run_id}/stream?token={creds['ws']}") as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "stdout" and first is None:
                first = time.perf_counter()
            if message["type"] == "exit":
                verdict = message["verdict"]
                break
    done = time.perf_counter()
    return ((first or done) - t0) * 1000, (done - t0) * 1000, verdict, (accepted - t0) * 1000


async def level(base: str, users: list[dict[str, str]], concurrency: int, per_client: int) -> dict[str, float]:
    ws_base = base.replace("http", "ws", 1)
    firsts: list[float] = []
    exits: list[float] = []
    bad: list[str] = []
    submits: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await one_run(http, ws_base, users[0])  # warm the connection

        async def client(creds: dict[str, str]) -> None:
            for _ in range(per_client):
                first, exit_, verdict, submit = await one_run(http, ws_base, creds)
                submits.append(submit)
                firsts.append(first)
                exits.append(exit_)
                if verdict != "ok":
                    bad.append(verdict)

        t0 = time.perf_counter()
        await asyncio.gather(*(client(users[i]) for i in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "concurrency": concurrency,
        "runs": len(exits),
        "first_p50": statistics.median(firsts),
        "first_p99": pct(firsts, 99),
        "exit_p50": statistics.median(exits),
        "exit_p99": pct(exits, 99),
        "runs_per_s": len(exits) / elapsed,
        "submit_p50": statistics.median(submits),
        "not_ok": len(bad),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-per-client", type=int, default=10)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--warm", type=int, default=2)
    parser.add_argument("--levels", default="1,4,16")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    data = tempfile.mkdtemp(prefix="bench-runs-")
    port = free_port()
    env = {
        **os.environ,
        "CLASSROOM_DATA_DIR": data,
        "CLASSROOM_PORT": str(port),
        "CLASSROOM_SANDBOX_SLOTS": str(args.slots),
        "CLASSROOM_WARM_SANDBOXES": str(args.warm),
        "CLASSROOM_RUNS_PER_MINUTE": "1000000",
        "CLASSROOM_LOG_LEVEL": "warning",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    server = start_server(env, Path(data) / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            for _ in range(600):
                try:
                    ready = (await http.get("/readyz")).json()
                    runs = ready.get("components", {}).get("runs", {})
                    if runs.get("status") == "ok" and (runs.get("detail") or {}).get("slots_ready", 0) >= args.slots:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                print(f"server not ready; see {data}/server.log", file=sys.stderr)
                return 1
        await asyncio.sleep(2.0)  # let every slot fill its warm pool
        env_settings = {k: v for k, v in env.items() if k.startswith("CLASSROOM_")}
        users = [json.loads(u) for u in await make_users(env_settings, max(levels))]
        exe = bare_interpreter()
        bare = bare_python(exe)
        print(f"bare `{exe} -c pass`: p50 {statistics.median(bare):.1f} ms, p99 {pct(bare, 99):.1f} ms")
        print(f"server: {args.slots} slot(s), {args.warm} warm sandbox(es) each; code {CODE!r}")
        print("conc  runs  202 p50  first-byte p50/p99 (ms)  exit p50/p99 (ms)  runs/s  first-p50/bare-p50  not-ok")
        for concurrency in levels:
            r = await level(base, users, concurrency, args.runs_per_client)
            if concurrency == levels[0]:
                async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                    detail = (await http.get("/readyz")).json()["components"]["runs"].get("detail") or {}
                server_side = (
                    f"server-side submit received -> first output published: p50 "
                    f"{detail.get('first_output_ms_p50')} ms, p99 {detail.get('first_output_ms_p99')} ms"
                )
            print(
                f"{concurrency:4d}  {r['runs']:4d}  {r['submit_p50']:7.1f}"
                f"  {r['first_p50']:8.1f} / {r['first_p99']:7.1f}"
                f"     {r['exit_p50']:7.1f} / {r['exit_p99']:7.1f}  {r['runs_per_s']:6.1f}"
                f"  {r['first_p50'] / statistics.median(bare):6.2f}x  {r['not_ok']}"
            )
        print(f"at concurrency {levels[0]}, {server_side}")
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            detail = (await http.get("/readyz")).json()["components"]["runs"].get("detail") or {}
        print(f"warm pools over the whole run: {detail.get('pools')}")
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
