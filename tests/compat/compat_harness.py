"""A real ``classroom serve`` for the compat tests (local Ray, real sandboxes, SQLite), API tokens made with the
CLI as an operator would, the Piston Node client, and a loopback receiver for Judge0 callbacks."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

NODE_DIR = Path(__file__).parent / "node"
CALLBACK_SECRET = "compat-callback-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Callbacks:
    """A loopback HTTP server recording every request (method, path, headers, body) it receives."""

    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with owner.arrived:
                    owner.received.append(
                        {"method": "PUT", "path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    owner.arrived.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, path: str, seconds: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        with self.arrived:
            while True:
                for request in self.received:
                    if request["path"] == path:
                        return request
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no callback to {path} within {seconds} s: {self.received}")
                self.arrived.wait(left)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()


@dataclass
class Server:
    url: str
    data_dir: Path
    log: Path
    token: str  # an API token of the instructor "ada"
    other_token: str  # an API token of another instructor
    callbacks: Callbacks
    env: dict[str, str]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "classroom", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def start_server(tmp: Path, **overrides: str) -> tuple[subprocess.Popen[bytes], Server]:
    """``overrides``: more ``CLASSROOM_*`` values (e.g. ``RUNS_PER_MINUTE="3"``)."""
    callbacks = Callbacks()
    callbacks.start()
    port = free_port()
    env = {
        **os.environ,
        "CLASSROOM_DATA_DIR": str(tmp / "data"),
        "CLASSROOM_PORT": str(port),
        "CLASSROOM_RUNS_PER_MINUTE": "1000",
        "CLASSROOM_RUN_WALL_SECONDS": "8",
        "CLASSROOM_RUN_CPU_SECONDS": "4",
        "CLASSROOM_RUN_MEMORY_MB": "128",
        "CLASSROOM_JUDGE0_CALLBACK_HOSTS": f"127.0.0.1:{callbacks.port}",
        "CLASSROOM_JUDGE0_CALLBACK_SECRET": CALLBACK_SECRET,
        "CLASSROOM_SHUTDOWN_SECONDS": "8",
        **{f"CLASSROOM_{k.upper()}": v for k, v in overrides.items()},
    }
    for name in ("ada", "grace"):
        _cli(env, tmp, "admin", "create-instructor", name, "--password", "correct horse battery staple")
    token = _cli(env, tmp, "admin", "create-token", "ada").strip().splitlines()[-1]
    other = _cli(env, tmp, "admin", "create-token", "grace").strip().splitlines()[-1]
    log = tmp / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "classroom", "serve"], env=env, cwd=tmp, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            ready = httpx.get(f"{url}/readyz", timeout=5).json()["components"]
            if ready.get("runs", {}).get("status") == "ok":
                break
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        assert time.monotonic() < deadline, f"the server did not get ready: {log.read_text()[-3000:]}"
        time.sleep(0.5)
    return proc, Server(url, tmp / "data", log, token, other, callbacks, env)


def stop_server(proc: subprocess.Popen[bytes], server: Server) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    server.callbacks.stop()


def node_modules() -> Path:
    """tests/compat/node with its locked packages installed (``npm ci`` on first use)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js and npm are needed for the piston-client tests")
    if not (NODE_DIR / "node_modules" / "piston-client").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, capture_output=True)
    return NODE_DIR / "node_modules"


def piston_client(server_url: str, cases: list[dict[str, Any]]) -> list[Any]:
    """Run ``cases`` through the unchanged piston-client (tests/compat/node/piston_cases.mjs)."""
    node_modules()
    done = subprocess.run(
        ["node", str(NODE_DIR / "piston_cases.mjs"), server_url],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=NODE_DIR,
    )
    assert done.returncode == 0, done.stderr
    results: list[Any] = json.loads(done.stdout)
    return results
