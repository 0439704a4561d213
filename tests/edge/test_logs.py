"""No credential reaches a log line: the redaction itself, and a real `classroom serve` whose access log sees
socket tokens in URLs and API tokens in paths."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import websockets

from classroom.auth.redaction import REDACTED, redact
from tests.edge.test_serve import free_port

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (f'127.0.0.1:5 - "WebSocket /collab/r1?token={JWT}" [accepted]', "/collab/r1?token="),
        ("GET /api/x?a=1&access_token=s3cret-value&b=2 HTTP/1.1", "&b=2"),
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer "),
        ("POST /piston/cr_AbCdEfGhIjKlMnOpQrStUvWx/api/v2/execute", "/piston/[redacted]/api/v2/execute"),
    ],
)
def test_credentials_are_redacted_and_the_rest_is_kept(line: str, kept: str) -> None:
    out = redact(line)
    assert REDACTED in out and kept in out
    assert JWT not in out and "s3cret-value" not in out and "AbCdEfGhIjKlMnOpQrStUvWx" not in out


def test_ordinary_lines_are_left_alone() -> None:
    line = 'GET /api/classes/3f2a?view=roster HTTP/1.1" 200 eyJ-not-a-token cr_short'
    assert redact(line) == line


@pytest.mark.slow
def test_a_real_server_logs_no_token(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CLASSROOM_DATA_DIR": str(tmp_path),
        "CLASSROOM_PORT": str(port),
        "CLASSROOM_START_RAY": "false",
        "CLASSROOM_LOG_LEVEL": "debug",
    }
    subprocess.run(
        [sys.executable, "-m", "classroom", "admin", "create-instructor", "ada", "--password", "correct-horse-1"],
        env=env, cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "classroom", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.3)
        login = httpx.post(f"{base}/api/login", json={"username": "ada", "password": "correct-horse-1"})
        bearer = login.json()["token"]
        ws_token = httpx.post(f"{base}/api/tokens", headers={"Authorization": f"Bearer {bearer}"}).json()["token"]
        api_token = httpx.post(
            f"{base}/api/api-tokens", json={"name": "bot"}, headers={"Authorization": f"Bearer {bearer}"}
        ).json()["token"]
        httpx.get(f"{base}/api/me?token={ws_token}")
        httpx.get(f"{base}/piston/{api_token}/api/v2/runtimes")

        async def open_socket() -> None:
            url = f"ws://127.0.0.1:{port}/collab/{uuid.uuid4()}?token={ws_token}"
            async with websockets.connect(url) as socket:
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(socket.recv(), 10)  # no such room: closed with 4404

        asyncio.run(open_socket())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    text = log.read_text()
    assert "WebSocket /collab/" in text and "/piston/" in text  # the lines were logged...
    for secret in (bearer, ws_token, api_token):
        assert secret not in text  # ...without the credentials
    assert REDACTED in text
