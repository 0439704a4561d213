"""Durability: kill -9 the server while clients type; after a restart every update the server received at least
0.5 s before the kill is in the database, and the clients' reconnection merges the rest: nothing is lost."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from collab_harness import NodeClient, PyClient, create_room, eventually, grants_for
from piccolo.engine.base import Engine
from pycrdt import Doc, Map

from classroom.rooms.store import PiccoloDocumentStore
from collab.files import LAYOUT_UPDATE
from collab.protocol import covers

pytestmark = [pytest.mark.anyio, pytest.mark.node, pytest.mark.slow]
SERVE_APP = Path(__file__).parent / "serve_app.py"


async def _start_server(database: str, grants: Path, port: int = 0) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVE_APP),
        "--database",
        database,
        "--grants",
        str(grants),
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert line.startswith("PORT "), line
    await asyncio.sleep(0.3)  # the socket listens before the app has started: let the lifespan finish
    return process, int(line.split()[1])


async def _stored_state(engine: Engine[Any], room: str) -> Doc[Any]:
    stored = await PiccoloDocumentStore(engine).load(room)
    doc: Doc[Any] = Doc()
    doc.apply_update(LAYOUT_UPDATE)
    for update in ([stored.snapshot] if stored.snapshot else []) + stored.updates:
        doc.apply_update(update)
    return doc


async def test_kill_9_loses_nothing_received_half_a_second_before(
    sqlite_database: Engine[Any], tmp_path: Path, node_modules: object
) -> None:
    room = await create_room()
    grants = tmp_path / "grants.json"
    grants.write_text(json.dumps(grants_for([room])))
    database = f"sqlite:///{tmp_path / 'test.sqlite'}"
    server, port = await _start_server(database, grants)
    url = f"ws://127.0.0.1:{port}/collab"
    a = await NodeClient.start(url, room, "writer")
    b = await NodeClient.start(url, room, "writer2")
    try:
        await asyncio.gather(a.call("wait_synced"), b.call("wait_synced"))
        typing = asyncio.gather(
            a.call("random", count=1500, seed=5, delay=3, within=60),
            b.call("random", count=1500, seed=6, delay=3, within=60),
        )
        await asyncio.sleep(1.5)
        # What each client had sent by now, the server had received 0.5 s before the kill (loopback: ~1 ms).
        marks = [(await c.call("state_vector"))["state_vector"] for c in (a, b)]
        await asyncio.sleep(0.5)
        server.kill()
        await server.wait()

        stored = (await _stored_state(sqlite_database, room)).get_state()

        for mark in marks:
            assert covers(stored, base64.b64decode(mark)), "an update received >= 0.5 s before the kill was lost"

        server, _ = await _start_server(database, grants, port)  # same port: the clients reconnect by themselves
        await typing

        async def converged() -> bool:
            fa, fb = await a.files(), await b.files()
            return fa == fb

        await eventually(converged, within=30)
        reader = await PyClient.connect(url, room, "writer")
        expected = await a.files()
        await eventually(lambda: reader.files() == expected)
        await reader.close()
        assert len(expected["main.py"]) > 50
    finally:
        await asyncio.gather(a.close(), b.close())
        server.terminate()
        await server.wait()
    # Graceful shutdown (SIGTERM) flushed the merged state too.
    final = await _stored_state(sqlite_database, room)
    assert {k: str(v) for k, v in final.get("files", type=Map).items()} == expected
