"""Piston's ``WS /api/v2/connect`` against a real ``classroom serve``: init, stdin, a signal, and Piston's close
codes for every misuse."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from compat_harness import Server

pytestmark = [pytest.mark.ray, pytest.mark.sandbox, pytest.mark.slow, pytest.mark.anyio]

INIT = {"type": "init", "language": "python", "version": "*"}


def ws_url(server: Server, token: str | None = None) -> str:
    base = server.url.replace("http://", "ws://")
    return f"{base}/piston/{token}/api/v2/connect" if token else f"{base}/piston/api/v2/connect"


async def until_closed(ws: Any) -> tuple[list[dict[str, Any]], int, str]:
    """Every message until the server closes, and its close code and reason."""
    messages = []
    try:
        async with asyncio.timeout(60):
            async for raw in ws:
                messages.append(json.loads(raw))
    except websockets.ConnectionClosed:
        pass
    assert ws.close_code is not None
    return messages, ws.close_code, ws.close_reason


async def next_of(ws: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def test_stdin_through_the_socket(server: Server) -> None:
    code = "name = input('name? ')\nage = input()\nprint(f'{name} is {age}')"
    async with websockets.connect(ws_url(server, server.token)) as ws:
        await ws.send(json.dumps({**INIT, "files": [{"content": code}]}))
        runtime = await next_of(ws, "runtime")
        assert runtime["language"] == "python" and runtime["version"].startswith("3.")
        await next_of(ws, "stage")
        await ws.send(json.dumps({"type": "data", "stream": "stdin", "data": "Ada\n"}))
        await ws.send(json.dumps({"type": "data", "stream": "stdin", "data": "36\n"}))
        messages, code_, reason = await until_closed(ws)
    output = "".join(m["data"] for m in messages if m["type"] == "data" and m["stream"] == "stdout")
    assert output == "name? Ada is 36\n"
    assert messages[-1] == {"type": "exit", "stage": "run", "code": 0, "signal": None}
    assert (code_, reason) == (4999, "Job Completed")


async def test_a_signal_stops_the_program(server: Server) -> None:
    code = "import time\nprint('ready', flush=True)\ntime.sleep(60)\nprint('never')"
    headers = {"Authorization": f"Bearer {server.token}"}
    async with websockets.connect(ws_url(server), additional_headers=headers) as ws:
        await ws.send(json.dumps({**INIT, "files": [{"content": code}]}))
        seen = ""
        while "ready\n" not in seen:  # output may arrive in several chunks
            data = await next_of(ws, "data")
            assert data["stream"] == "stdout"
            seen += data["data"]
        await ws.send(json.dumps({"type": "signal", "signal": "SIGTERM"}))
        messages, close_code, _ = await until_closed(ws)
    assert messages[-1] == {"type": "exit", "stage": "run", "code": None, "signal": "SIGTERM"}
    assert close_code == 4999
    assert not any(m.get("data") == "never\n" for m in messages)


async def close_of(server: Server, *sends: dict[str, Any] | str, wait: float = 0) -> tuple[list[Any], int]:
    async with websockets.connect(ws_url(server, server.token)) as ws:
        for item in sends:
            await ws.send(item if isinstance(item, str) else json.dumps(item))
            await asyncio.sleep(wait)
        messages, code, _ = await until_closed(ws)
    return messages, code


async def test_piston_close_codes(server: Server) -> None:
    sleeper = {**INIT, "files": [{"content": "import time\ntime.sleep(30)"}]}
    assert (await close_of(server))[1] == 4001  # no init within 1 s
    assert (await close_of(server, {"type": "data", "stream": "stdin", "data": "x"}))[1] == 4003
    assert (await close_of(server, sleeper, sleeper, wait=0.3))[1] == 4000
    assert (await close_of(server, sleeper, {"type": "signal", "signal": "SIGNOPE"}, wait=0.3))[1] == 4005
    assert (await close_of(server, sleeper, {"type": "data", "stream": "stdout", "data": "x"}, wait=0.3))[1] == 4004
    messages, code = await close_of(server, {**INIT, "language": "cobol", "files": [{"content": "x"}]})
    assert code == 4002 and messages[-1] == {"type": "error", "message": "cobol-* runtime is unknown"}
    messages, code = await close_of(server, "not json")
    assert code == 4002 and messages[-1]["type"] == "error"


async def test_handshake_needs_a_token(server: Server) -> None:
    for url in (ws_url(server), ws_url(server, "cr_wrong")):
        async with websockets.connect(url) as ws:
            _, code, _ = await until_closed(ws)
        assert code == 4401
