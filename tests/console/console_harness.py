"""Helpers the console tests import (never from ``conftest``): a class channel client that reads JSON events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import websockets
from authz_harness import LiveServer
from authz_world import World
from starlette.applications import Starlette


class Channel:
    """One page's class channel: ``snapshot`` once open, then :meth:`next` / :meth:`wait_for` events."""

    def __init__(self, ws: Any, snapshot: dict[str, Any]) -> None:
        self.ws = ws
        self.snapshot = snapshot
        self.seen: list[dict[str, Any]] = []

    async def next(self, seconds: float = 5.0) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), seconds))
        self.seen.append(event)
        return event

    async def wait_for(self, match: Callable[[dict[str, Any]], bool], seconds: float = 5.0) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            event = await self.next(max(0.01, deadline - loop.time()))
            if match(event):
                return event

    async def drain(self) -> list[dict[str, Any]]:
        """Every event sent so far: a ping's pong comes after all of them (one ordered socket)."""
        await self.ws.send(json.dumps({"type": "ping"}))
        found = []
        while (event := await self.next()).get("type") != "pong":
            found.append(event)
        return found

    async def close(self) -> None:
        await self.ws.close()


async def connect(live: LiveServer, world: World, actor: str, class_id: object, query: str = "") -> Channel:
    url = f"{await live.url()}/api/classes/{class_id}/events?token={world.ws_token(actor)}{query}"
    ws = await websockets.connect(url, open_timeout=5)
    snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert snapshot["type"] == "snapshot", snapshot
    return Channel(ws, snapshot)


async def closed_with(live: LiveServer, path: str, token: str | None) -> int:
    """The close code of a class channel that the server refuses (or 101 when it stays open)."""
    url = f"{await live.url()}{path}" + (("&" if "?" in path else "?") + f"token={token}" if token else "")
    async with websockets.connect(url, open_timeout=5) as ws:
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 1.0)
        except TimeoutError:
            return 101
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006


@asynccontextmanager
async def started(app: Starlette) -> AsyncIterator[Starlette]:
    """Start the app's components but Ray and the sandbox probe. Unlike the matrix, the app's own database
    component starts too: the room store writes in transactions on the app's engine, which must be the engine the
    tables are bound to (two engines on one SQLite file would wait on each other's write lock)."""
    running = []
    try:
        for part in app.state.components:
            if part.name not in ("ray", "sandbox"):
                await part.start()
                running.append(part)
        yield app
    finally:
        for part in reversed(running):
            await part.stop()
