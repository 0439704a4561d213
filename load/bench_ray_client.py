"""How a web edge should reach Ray: as a driver on a Ray node of its own (what ``classroom serve`` does with
``CLASSROOM_EXECUTION=cluster``), or through Ray Client (``ray://HEAD:10001``, which needs ``ray[client]``:
grpcio, a dev dependency here for this benchmark only).

The dispatcher's submit path is a streaming-generator call on a slot actor (``started``, output as it comes, the
result). Ray Client does not support streaming actor methods (``num_returns="streaming"``); the benchmark tries
it and prints Ray Client's refusal. So that both ways can be timed, it also times the nearest thing Ray Client
can do — one call that returns the run's three items at once (no live output) — and a plain actor call (what
stdin and cancel are), one at a time and 16 at once.

A Ray head (no CPUs, the Ray Client server on, token auth on) and one worker node offering ``sandbox_slot`` run on
this machine as ``ray start`` processes of their own; each way in is a separate driver process running the same
code against a stand-in slot that echoes (so sandboxes do not blur the figure). The own-node driver is the
baseline, measured in the same run; the printed ratio is Ray Client over own node. The own-node driver runs a
second time on a cluster with Ray's TLS on (``RAY_USE_TLS``, certificates from ``classroom ray-tls``): its cost.

    .venv/bin/python load/bench_ray_client.py [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RAY = str(Path(sys.executable).with_name("ray"))
CONCURRENCY = 16


class EchoSlot:
    """The slot's calls as the dispatcher makes them, with nothing behind them."""

    async def run(self, run_id: str, spec: dict[str, Any]) -> Any:
        yield {"type": "started", "slot": "echo"}
        yield {"type": "output", "chunks": [["stdout", spec["files"]["main.py"]]]}
        yield {"type": "result", "verdict": "ok", "exit_code": 0, "stdout": spec["files"]["main.py"]}

    async def run_at_once(self, run_id: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
        return [item async for item in self.run(run_id, spec)]

    async def send_stdin(self, run_id: str, data: str) -> bool:
        return True


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _stream(handle: Any, i: int) -> tuple[float, float]:
    """The dispatcher's call: the run's items as they come. (first item, last item) in ms."""
    t0 = time.perf_counter()
    first = 0.0
    async for ref in handle.run.options(num_returns="streaming").remote(str(i), _spec(i)):
        await ref
        first = first or time.perf_counter() - t0
    return first * 1000, (time.perf_counter() - t0) * 1000


async def _at_once(handle: Any, i: int) -> tuple[float, float]:
    """The same items in one reply (no live output): what Ray Client can do."""
    t0 = time.perf_counter()
    await handle.run_at_once.remote(str(i), _spec(i))
    took = (time.perf_counter() - t0) * 1000
    return took, took


def _spec(i: int) -> dict[str, Any]:
    return {"files": {"main.py": f"print({i})\n"}, "entry": "main.py"}


async def _series(call: Any, handles: list[Any], calls: int) -> dict[str, float]:
    for i in range(30):  # warm up: actors placed, connections made
        await call(handles[i % 2], i)
    firsts, ends = [], []
    for i in range(calls):
        first, end = await call(handles[i % 2], i)
        firsts.append(first)
        ends.append(end)
    t0 = time.perf_counter()
    for start in range(0, calls, CONCURRENCY):
        await asyncio.gather(*(call(handles[i % 2], i) for i in range(start, min(calls, start + CONCURRENCY))))
    rate = calls / (time.perf_counter() - t0)
    return {"first_p50": pct(firsts, 50), "first_p99": pct(firsts, 99), "end_p50": pct(ends, 50),
            "end_p99": pct(ends, 99), "per_s": rate}  # fmt: skip


async def measure(address: str, calls: int) -> dict[str, Any]:
    import ray

    ray.init(address=address, log_to_driver=False)
    options: dict[str, Any] = {"num_cpus": 0, "resources": {"sandbox_slot": 1}, "max_concurrency": CONCURRENCY}
    actor = ray.remote(**options)(EchoSlot)
    handles: list[Any] = [actor.remote() for _ in range(2)]
    found: dict[str, Any] = {}
    try:
        found["stream"] = await _series(_stream, handles, calls)
    except Exception as exc:
        found["stream"] = f"{type(exc).__name__}: {exc}"
    found["at_once"] = await _series(_at_once, handles, calls)
    small = []
    for i in range(calls):
        t0 = time.perf_counter()
        await handles[i % 2].send_stdin.remote(str(i), "x\n")
        small.append((time.perf_counter() - t0) * 1000)
    found["call"] = {"p50": pct(small, 50), "p99": pct(small, 99)}
    ray.shutdown()
    return found


def _port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def _node(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A ``ray start --block`` in a session of its own: stopping it stops exactly this node (``ray stop`` would
    stop every Ray on the machine)."""
    return subprocess.Popen([RAY, *args, "--block"], env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def _stop(node: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.pid, signal.SIGTERM)
    try:
        node.wait(20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.pid, signal.SIGKILL)
        node.wait()


def _listening(host: str, port: int, within: float = 240) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port} after {within:.0f} s")


def driver(address: str, calls: int, env: dict[str, str]) -> dict[str, Any]:
    env = {**env, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, __file__, "--driver", address, "--calls", str(calls)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"driver {address}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--driver", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        print(json.dumps(asyncio.run(measure(args.driver, args.calls))))
        return
    try:
        import grpc  # noqa: F401
    except ImportError:
        sys.exit("bench_ray_client: needs ray[client] (grpcio): uv sync (it is in the dev group)")
    # Token auth on, as in the box and k3s (and a token of its own: not one a local `ray` left in ~/.ray).
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
    env["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    uptime = os.getloadavg()
    native, client = cluster(env, args.calls, with_client=True)
    with tempfile.TemporaryDirectory(prefix="rb-tls-") as certs:
        from ray.util import get_node_ip_address

        from classroom.sandboxes.ray_tls import make_ca, write_node

        folder = write_node(make_ca(), Path(certs), get_node_ip_address())
        tls_env = env | {"RAY_USE_TLS": "1", "RAY_TLS_CA_CERT": str(folder / "ca.crt")}
        tls_env |= {"RAY_TLS_SERVER_CERT": str(folder / "node.crt"), "RAY_TLS_SERVER_KEY": str(folder / "node.key")}
        tls, _ = cluster(tls_env, args.calls, with_client=False)
    print(f"load average at start: {uptime[0]:.2f} {uptime[1]:.2f} {uptime[2]:.2f}, at the end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.calls} calls each")  # fmt: skip
    if isinstance(client["stream"], str):
        print(f"Ray Client, the dispatcher's streaming call: refused: {client['stream'][:160]}")
    print(f"{'':42}{'own node':>9}{'Ray Client':>11}{'client/own':>11}{'own+TLS':>9}{'TLS/own':>8}")
    rows: list[tuple[str, float, float | None, float]] = []
    for label, key in (("streaming run", "stream"), ("run in one reply", "at_once")):
        own, other, mine = native[key], client[key], tls[key]
        for stat, name in (("first_p50", "first item p50"), ("first_p99", "first item p99"), ("end_p50", "result p50"),
                           ("end_p99", "result p99"), ("per_s", f"{CONCURRENCY} at once, runs/s")):  # fmt: skip
            if key == "at_once" and stat.startswith("first"):
                continue
            unit = "" if stat == "per_s" else " (ms)"
            theirs = None if isinstance(other, str) else other[stat]
            rows.append((f"{label}, {name}{unit}", own[stat], theirs, mine[stat]))
    for stat in ("p50", "p99"):
        rows.append((f"actor call (stdin) {stat} (ms)", native["call"][stat], client["call"][stat], tls["call"][stat]))
    for label, own, other, mine in rows:
        versus = f"{'refused':>11}{'-':>11}" if other is None else f"{other:11.2f}{other / own:11.2f}"
        print(f"{label:42}{own:9.2f}{versus}{mine:9.2f}{mine / own:8.2f}")


def cluster(env: dict[str, str], calls: int, *, with_client: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """A head and a worker node with ``env``; the own-node driver's figures, and Ray Client's if asked."""
    from ray.util import get_node_ip_address

    port, client_port = _port(), _port()
    temp = tempfile.mkdtemp(prefix="rb-")  # short: Ray's socket paths must fit in 107 bytes
    head = ["start", "--head", "--port", str(port), "--ray-client-server-port", str(client_port), "--num-cpus", "0"]
    head += ["--include-dashboard", "false", "--temp-dir", temp, "--disable-usage-stats"]
    host = get_node_ip_address()  # Ray's servers (the Ray Client server too) bind the node's address
    nodes = [_node(*head, env=env)]
    try:
        _listening(host, port)
        gcs = f"{host}:{port}"
        worker = ["start", "--address", gcs, "--num-cpus", "1", "--resources", '{"sandbox_slot": 2}']
        nodes.append(_node(*worker, env=env))
        native = driver(gcs, calls, env)
        client: dict[str, Any] = {}
        if with_client:
            _listening(host, client_port)
            client = driver(f"ray://{host}:{client_port}", calls, env)
        return native, client
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
