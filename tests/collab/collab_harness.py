"""Fixtures of the collab tests: the Node clients (``npm ci`` on first use), a real server on port 0 in the
test's event loop, a scriptable Node client, a pycrdt client, and rows for the database store's foreign keys."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import websockets
from pycrdt import Doc, Map, Text

sys.path.insert(0, str(Path(__file__).parent))

from serve_app import Grants, build_app, listening_socket, uvicorn_config

from classroom.tables import Class, Room, User
from collab import RoomManager, protocol

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/collab/node with its locked packages installed (``npm ci`` when node_modules is missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js and npm are needed for the interop tests")
    if not (NODE_DIR / "node_modules" / "y-websocket").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, capture_output=True)
    return NODE_DIR


@asynccontextmanager
async def running_server(manager: RoomManager, grants: Grants) -> AsyncIterator[str]:
    """Serve ``manager`` over uvicorn on a free port in this event loop; yield ``ws://127.0.0.1:PORT/collab``."""
    sock = listening_socket()
    server = uvicorn.Server(uvicorn_config(build_app(manager, grants)))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/collab"
    finally:
        server.should_exit = True
        await task


class NodeClient:
    """A stock y-websocket client in a Node process (tests/collab/node/client.mjs), driven by JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._next = 0
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, url: str, room: str, token: str | None = "writer") -> NodeClient:
        args = [str(NODE_DIR / "client.mjs"), url, room] + ([token] if token else [])
        process = await asyncio.create_subprocess_exec(
            "node", *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**24
        )
        return cls(process)

    async def _read(self) -> None:
        assert self._process.stdout is not None
        async for line in self._process.stdout:
            message = json.loads(line)
            future = self._replies.pop(message.get("id", -1), None)
            if future is not None:
                future.set_result(message)
            else:
                self.events.append(message)

    async def call(self, op: str, within: float = 20.0, **kwargs: Any) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._next += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[self._next] = future
        self._process.stdin.write(json.dumps({"id": self._next, "op": op, **kwargs}).encode() + b"\n")
        await self._process.stdin.drain()
        reply = await asyncio.wait_for(future, within)
        assert reply["ok"], reply
        return reply

    async def files(self) -> dict[str, str]:
        return dict((await self.call("files"))["files"])

    async def close(self) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(TimeoutError, AssertionError, ConnectionError):
                await self.call("exit", within=5)
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._reader.cancel()


class PyClient:
    """A minimal y-websocket client in Python on pycrdt and :mod:`collab.protocol` (interop from the other side)."""

    def __init__(self, websocket: websockets.ClientConnection) -> None:
        self.ws = websocket
        self.doc: Doc[Any] = Doc()
        self.synced = asyncio.Event()
        self.closed: tuple[int | None, str] | None = None
        self.awareness: list[tuple[int, int, str]] = []
        self._sub = self.doc.observe(lambda event: self._outbox.put_nowait(protocol.update_message(event.update)))
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._remote = False
        self._tasks = [asyncio.create_task(self._recv()), asyncio.create_task(self._send())]

    @classmethod
    async def connect(cls, url: str, room: str, token: str = "writer", **kwargs: Any) -> PyClient:
        ws = await websockets.connect(f"{url}/{room}?token={token}", max_size=None, **kwargs)
        client = cls(ws)
        await ws.send(protocol.sync_message(protocol.SYNC_STEP1, client.doc.get_state()))
        return client

    async def _send(self) -> None:
        while True:
            await self.ws.send(await self._outbox.get())

    async def _recv(self) -> None:
        try:
            async for frame in self.ws:
                assert isinstance(frame, bytes)
                message = protocol.decode(frame)
                if isinstance(message, protocol.Sync):
                    self._apply_remote(message)
                elif isinstance(message, protocol.Awareness):
                    self.awareness.extend(message.entries)
        except websockets.ConnectionClosed:
            pass
        self.closed = (self.ws.close_code, self.ws.close_reason or "")

    def _apply_remote(self, message: protocol.Sync) -> None:
        if message.step == protocol.SYNC_STEP1:
            reply = protocol.handle_sync_message(message, self.doc)
            assert reply is not None
            self._outbox.put_nowait(reply)
            return
        # Updates from the server must not be echoed back: unobserve while applying.
        self.doc.unobserve(self._sub)
        try:
            protocol.handle_sync_message(message, self.doc)
        finally:
            self._sub = self.doc.observe(lambda event: self._outbox.put_nowait(protocol.update_message(event.update)))
        if message.step == protocol.SYNC_STEP2:
            self.synced.set()

    def text(self, name: str = "main.py") -> Text:
        files = self.doc.get("files", type=Map)
        if name not in files:
            files[name] = Text()
        value: Text = files[name]
        return value

    def files(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.doc.get("files", type=Map).items()}

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.ws.close()


async def eventually(check: Callable[[], Any], within: float = 15.0, interval: float = 0.05) -> None:
    """Wait until ``await check()`` (or ``check()``) is truthy; fail with its last value otherwise."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached in {within}s (last value {value!r})")
        await asyncio.sleep(interval)


async def create_room(name: str = "room") -> str:
    """A user, a class and a room in the bound database (the log's foreign key needs them); the room id."""
    now = datetime.now(UTC)
    user = User(id=uuid.uuid4(), display_name="Ada", role="instructor", created_at=now)
    await user.save()
    klass = Class(id=uuid.uuid4(), name="Class", owner=user.id, join_code=uuid.uuid4().hex[:8], created_at=now)
    await klass.save()
    room = Room(id=uuid.uuid4(), klass=klass.id, name=name, created_by=user.id, created_at=now)
    await room.save()
    return str(room.id)


def grants_for(rooms: list[str], viewers: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """Tokens ``writer`` (writes every room), ``viewer`` (reads every room), ``outsider`` (no room)."""
    return {
        "writer": {"user": "u-writer", "name": "Writer", "rooms": {r: "writer" for r in rooms}},
        "writer2": {"user": "u-writer2", "name": "Writer 2", "rooms": {r: "writer" for r in rooms}},
        "viewer": {"user": "u-viewer", "name": "Viewer", "rooms": {r: "viewer" for r in rooms}},
        "outsider": {"user": "u-out", "name": "Out", "rooms": {}},
    }
