"""The real server process: `classroom serve` with a local Ray answers /readyz for every component and stops
cleanly and quickly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.ray
def test_serve_with_ray_then_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CLASSROOM_DATA_DIR": str(tmp_path), "CLASSROOM_PORT": str(port),
           "CLASSROOM_SHUTDOWN_SECONDS": "8"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "classroom", "serve"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        body: dict[str, object] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                body = r.json()
                comps = body["components"]
                assert isinstance(comps, dict)
                if all(c["reason"] != "confinement self-test running" for c in comps.values()):
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            time.sleep(0.5)
        comps = body["components"]
        assert isinstance(comps, dict)
        assert {"database", "ray", "sandbox"} <= set(comps)
        assert comps["ray"]["status"] == "ok", comps["ray"]
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status says what stopped it.
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 20
        assert "Application shutdown complete" in (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


SLOW_SHUTDOWN = """
import asyncio, os, signal, sys, time
from classroom import components
from classroom.settings import load_settings

got = []
signal.signal(signal.SIGTERM, lambda *_: got.append(time.monotonic()))  # uvicorn's place: note it, carry on


async def main() -> None:
    ray = components.Ray(load_settings())
    await ray.start()  # Ray's core worker starts here, in a worker thread as in the server
    assert ray.error is None, ray.error
    os.kill(os.getpid(), signal.SIGTERM)
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert got, "the SIGTERM never reached the Python handler"
    await asyncio.sleep(5)  # a graceful shutdown longer than Ray's 3 s alarm
    await ray.stop()


asyncio.run(main())
print("clean exit", flush=True)
"""


@pytest.mark.slow
@pytest.mark.ray
def test_a_shutdown_longer_than_three_seconds_is_not_aborted_by_ray(tmp_path: Path) -> None:
    """Ray's C++ failure handler takes SIGTERM when Ray starts and leaves a 3 s abort alarm behind: the server
    gives SIGTERM back to its own handler, so a slow graceful shutdown (a loaded host) ends cleanly."""
    env = {**os.environ, "CLASSROOM_DATA_DIR": str(tmp_path), "CLASSROOM_SANDBOX_SLOTS": "1"}
    done = subprocess.run([sys.executable, "-c", SLOW_SHUTDOWN], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, (done.returncode, done.stderr[-3000:])
    assert "clean exit" in done.stdout
