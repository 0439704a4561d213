"""Run pipeline benchmark: HTTP submit -> first output byte and -> exit, p50/p99, runs/s at concurrency 1/4/16,
each level printed beside bare python at the same concurrency, measured right after it in the same run: as many
clients each starting ``python3 -c "print('x')"`` (the same program) one after another, timed to the first
stdout byte and to exit. The ratios compare like with like: 16 concurrent runs against 16 concurrent bare
pythons on the same loaded machine, not against one idle start measured once.

It starts ``classroom serve`` as a subprocess (SQLite in a temp dir, a local Ray, the default slots and warm
sandboxes), makes one user per concurrent client (a student has at most one run at a time), and for each run:
POST /api/runs, open WS /api/runs/{id}/stream, wait for the first stdout message and then for ``exit``.
Targets (issue 15): submit -> first byte p50 <= 1.0x bare python at the same concurrency (the API path's own
target is <= 1.5x); runs/s at concurrency 16 >= 65 (Piston's on this machine), printed beside bare python's rate.
Slots and warm pools are the server's defaults (sized to the machine, see CLASSROOM_SANDBOX_SLOTS) unless
``--slots`` / ``--warm`` say otherwise. At the last level it also prints where the CPU went, per run, by process
(the serve process, Ray's own processes, the slot actors, the sandboxes, this client).

    .venv/bin/python load/bench_runs.py [--runs-per-client 10] [--slots N] [--warm N] [--levels 1,4,16]
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
import psutil
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CODE = "print('x')"
RUNS_PER_S_TARGET = 65.0  # Piston's trivial-run throughput at concurrency 16 on this machine (issue 15)
FIRST_BYTE_TARGET = 1.0  # x bare python at the same concurrency


def _kind(process: psutil.Process) -> str:
    """Which part of the server a process of its tree is."""
    try:
        name = " ".join(process.cmdline()[:3])
    except psutil.Error:
        return "gone"
    if "classroom serve" in name or name.endswith("-m classroom"):
        return "serve"
    if "ExecutionSlot" in name or "ray::" in name or "default_worker" in name:
        return "ray workers (slot actors)"
    if any(k in name for k in ("raylet", "gcs_server", "dashboard", "log_monitor", "monitor.py", "ray/")):
        return "ray system"
    return "sandboxes and others"


def tree_cpu(root: psutil.Process) -> dict[str, float]:
    """CPU seconds by part: a live process's own time plus its reaped children's (sandboxes end between samples,
    their time lands in their parent's children_* counters)."""
    out: dict[str, float] = {}
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for process in processes:
        try:
            t = process.cpu_times()
        except psutil.Error:
            continue
        kind = _kind(process)
        out[kind] = out.get(kind, 0.0) + t.user + t.system
        out["sandboxes and others"] = out.get("sandboxes and others", 0.0) + t.children_user + t.children_system
    return out


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


async def bare_level(exe: str, concurrency: int, per_client: int) -> dict[str, float]:
    """Bare python at ``concurrency``: the baseline of one level (first stdout byte and exit, ms; starts/s)."""
    firsts: list[float] = []
    exits: list[float] = []

    async def client() -> None:
        for _ in range(per_client):
            t0 = time.perf_counter()
            process = await asyncio.create_subprocess_exec(exe, "-c", CODE, stdout=asyncio.subprocess.PIPE)
            assert process.stdout is not None
            await process.stdout.read(1)
            firsts.append((time.perf_counter() - t0) * 1000)
            await process.communicate()
            exits.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    return {
        "first_p50": statistics.median(firsts),
        "first_p99": pct(firsts, 99),
        "exit_p50": statistics.median(exits),
        "exit_p99": pct(exits, 99),
        "runs_per_s": len(exits) / elapsed,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "classroom", "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err
        )


async def wait_ready(base: str, slots: int, seconds: float) -> bool:
    """Whether the server's runs component is ok with at least ``slots`` slots ready within ``seconds``."""
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        for _ in range(round(seconds / 0.2)):
            try:
                ready = (await http.get("/readyz")).json()
                runs = ready.get("components", {}).get("runs", {})
                if runs.get("status") == "ok" and (runs.get("detail") or {}).get("slots_ready", 0) >= slots:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    return False


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


async def make_users(env: dict[str, str], n: int) -> list[str]:
    from classroom import db
    from classroom.auth import tokens
    from classroom.settings import load_settings
    from classroom.tables import Class, Enrollment, User

    settings = load_settings(env, dotenv=None)
    engine = db.engine_from_url(settings.database_url)
    db.bind(engine)
    now = datetime.now(UTC)
    teacher = User(id=uuid.uuid4(), role="instructor", display_name="bench teacher", created_at=now)
    await teacher.save().run()
    klass = Class(id=uuid.uuid4(), name="bench", owner=teacher.id, join_code=uuid.uuid4().hex[:8], created_at=now)
    await klass.save().run()
    ids = []
    for i in range(n):
        # Students in a class, as in a lesson: a student's run belongs to one of their classes.
        user = User(id=uuid.uuid4(), display_name=f"bench{i}", created_at=now)
        await user.save().run()
        await Enrollment(id=uuid.uuid4(), klass=klass.id, user=user.id, role="student", created_at=now).save().run()
        ids.append(user.id)
    return [
        json.dumps(
            {
                "api": tokens.issue_jwt(settings, uid, tokens.API_AUDIENCE, 3600),
                "ws": tokens.issue_jwt(settings, uid, tokens.WS_AUDIENCE, 3600),
                "class": str(klass.id),
            }
        )
        for uid in ids
    ]


async def one_run(http: httpx.AsyncClient, ws_base: str, creds: dict[str, str]) -> tuple[float, float, str, float]:
    t0 = time.perf_counter()
    body = {"code": CODE, "class_id": creds["class"]}
    response = await http.post("/api/runs", json=body, headers={"authorization": f"Bearer {creds['api']}"})
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
    parser.add_argument("--slots", type=int, default=None, help="default: the server's (sized to the machine)")
    parser.add_argument("--warm", type=int, default=None, help="default: the server's (sized to the machine)")
    parser.add_argument("--levels", default="1,4,16")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    data = tempfile.mkdtemp(prefix="bench-runs-")
    port = free_port()
    env = {
        **os.environ,
        "CLASSROOM_DATA_DIR": data,
        "CLASSROOM_PORT": str(port),
        "CLASSROOM_SANDBOX_SLOTS": "auto" if args.slots is None else str(args.slots),
        "CLASSROOM_WARM_SANDBOXES": "auto" if args.warm is None else str(args.warm),
        "CLASSROOM_RUNS_PER_MINUTE": "1000000",
        "CLASSROOM_LOG_LEVEL": "warning",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    from classroom.settings import load_settings

    sized = load_settings({k: v for k, v in env.items() if k.startswith("CLASSROOM_")}, dotenv=None)
    slots, warm = sized.sandbox_slots, sized.warm_sandboxes
    server = start_server(env, Path(data) / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        if not await wait_ready(base, slots, 120):
            print(f"server not ready; see {data}/server.log", file=sys.stderr)
            return 1
        await asyncio.sleep(2.0)  # let every slot fill its warm pool
        env_settings = {k: v for k, v in env.items() if k.startswith("CLASSROOM_")}
        users = [json.loads(u) for u in await make_users(env_settings, max(levels))]
        exe = bare_interpreter()
        bare = bare_python(exe)
        print(f"bare `{exe} -c pass`: p50 {statistics.median(bare):.1f} ms, p99 {pct(bare, 99):.1f} ms")
        sizing = "sized to the machine" if args.slots is None else "from --slots"
        print(f"server: {slots} slot(s) ({sizing}), {warm} warm sandbox(es) each; code {CODE!r}")
        print(
            "conc  what    runs  202 p50  first-byte p50/p99 (ms)  exit p50/p99 (ms)  runs/s  first-p50 x bare  not-ok"
        )
        tree = psutil.Process(server.pid)
        for concurrency in levels:
            cpu0, client0 = tree_cpu(tree), psutil.Process().cpu_times()
            r = await level(base, users, concurrency, args.runs_per_client)
            cpu1, client1 = tree_cpu(tree), psutil.Process().cpu_times()
            b = await bare_level(exe, concurrency, args.runs_per_client)
            if concurrency == levels[0]:
                async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                    detail = (await http.get("/readyz")).json()["components"]["runs"].get("detail") or {}
                server_side = (
                    f"server-side submit received -> first output published: p50 "
                    f"{detail.get('first_output_ms_p50')} ms, p99 {detail.get('first_output_ms_p99')} ms"
                )
            print(
                f"{concurrency:4d}  server  {r['runs']:4d}  {r['submit_p50']:7.1f}"
                f"  {r['first_p50']:8.1f} / {r['first_p99']:7.1f}"
                f"     {r['exit_p50']:7.1f} / {r['exit_p99']:7.1f}  {r['runs_per_s']:6.1f}"
                f"  {r['first_p50'] / b['first_p50']:9.2f}x  {r['not_ok']}"
            )
            print(
                f"{concurrency:4d}  bare    {r['runs']:4d}  {'':7}"
                f"  {b['first_p50']:8.1f} / {b['first_p99']:7.1f}"
                f"     {b['exit_p50']:7.1f} / {b['exit_p99']:7.1f}  {b['runs_per_s']:6.1f}"
                f"  {'1.00':>9}x  -"
            )
        print(f"at concurrency {levels[0]}, {server_side}")
        top = levels[-1]
        verdict = "met" if r["runs_per_s"] >= RUNS_PER_S_TARGET else "missed"
        print(
            f"throughput at concurrency {top}: {r['runs_per_s']:.1f} runs/s (target >= {RUNS_PER_S_TARGET:.0f}: "
            f"{verdict}); bare python {b['runs_per_s']:.1f} starts/s in the same run"
        )
        ratio = r["first_p50"] / b["first_p50"]
        print(
            f"first byte p50 at concurrency {top}: {ratio:.2f}x bare python (target <= {FIRST_BYTE_TARGET:.1f}x: "
            f"{'met' if ratio <= FIRST_BYTE_TARGET else 'missed'})"
        )
        runs_done = max(1, int(r["runs"]))
        client_s = (client1.user + client1.system) - (client0.user + client0.system)
        parts = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in cpu1}
        where = ", ".join(f"{k} {v / runs_done * 1000:.1f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
        print(f"CPU per run at concurrency {top} (ms): {where}, this client {client_s / runs_done * 1000:.1f}")
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            detail = (await http.get("/readyz")).json()["components"]["runs"].get("detail") or {}
        print(f"warm pools over the whole run: {detail.get('pools')}")
        return 0
    finally:
        stop_server(server)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
