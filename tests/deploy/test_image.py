"""The one image for web, head and workers: built here with no registry, starts, and carries nothing it should not."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

from load.box import docker

pytestmark = [pytest.mark.docker_image, pytest.mark.slow]


def in_image(image: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_runs_as_a_user_without_build_tools_or_secrets(image: str) -> None:
    done = in_image(image, "id -u; command -v node npm uv gcc || true; ls -a /app /data; ls /app/web")
    lines = done.stdout.split()
    assert lines[0] == "10001", done.stdout  # not root
    assert not any(tool in done.stdout for tool in ("/node", "/npm", "/uv", "/gcc")), done.stdout
    for absent in ("node_modules", "secret_key", ".git", ".build", "tests", ".env"):
        assert absent not in lines, done.stdout
    assert "dist" in lines  # the built browser app, from the Node 20 stage
    ca = in_image(image, "ls /etc/ssl/certs/build-ca.crt 2>&1 || true")
    assert "No such file" in ca.stdout  # the build stages' CA bundle stays in the build stages


def test_built_with_node_20(image: str) -> None:
    # The web stage asserts `node --version` is v20 while building; the final image has the bundle it made.
    manifest = in_image(image, "cat /app/web/dist/manifest.json")
    assert manifest.returncode == 0 and "room" in json.loads(manifest.stdout)


def test_container_starts_and_answers_healthz(image: str) -> None:
    name = f"classroom-smoke-{int(time.time() * 1000) % 10**9}"
    docker("run", "-d", "--name", name, "-p", "127.0.0.1::8000", "--env", "CLASSROOM_START_RAY=false", image)
    try:
        port = int(docker("port", name, "8000/tcp").rsplit(":", 1)[1])
        deadline, status = time.monotonic() + 90, 0
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
                    status = response.status
                    break
            except OSError:
                time.sleep(0.5)
        assert status == 200, subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr[-2000:]
        top = docker("top", name, "-o", "pid,user,args")
        serve = [line for line in top.splitlines() if "classroom serve" in line and "tini" not in line]
        assert serve and all(line.split()[1] != "root" for line in serve), top
    finally:
        docker("rm", "-f", name, check=False)
