"""Random-op convergence: 5 replicas (pycrdt docs) on two room managers joined by a replica bus, thousands of
random edits, delivery reordered and duplicated, connections dropped mid-stream and re-established. All converge."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from collab_harness import eventually
from pycrdt import Doc, Map, Text

from collab import ChannelClosed, LocalBus, LocalHub, Member, MemoryStore, RoomManager, protocol

pytestmark = pytest.mark.anyio
ROOM = "chaos"


class ChaosClient:
    """A pycrdt replica connected to a manager through an in-memory channel that reorders and duplicates."""

    def __init__(self, name: str, manager: RoomManager, rng: random.Random) -> None:
        self.name, self.manager, self.rng = name, manager, rng
        self.doc: Doc[Any] = Doc()
        self.chaos = True
        self.closes: list[tuple[int, str]] = []  # the server must never close a well-behaved client
        self._remote = False
        self._inbox: asyncio.Queue[bytes | None] | None = None
        self._serving: asyncio.Task[None] | None = None
        self.doc.observe(self._local_change)

    # -- the channel, server side ---------------------------------------------------------------------------
    class _ServerEnd:
        def __init__(self, client: ChaosClient, inbox: asyncio.Queue[bytes | None]) -> None:
            self.client, self.inbox = client, inbox

        async def recv(self) -> bytes | str:
            frame = await self.inbox.get()
            if frame is None:
                raise ChannelClosed()
            return frame

        async def send(self, message: bytes) -> None:
            if self.client._inbox is not self.inbox:
                raise ChannelClosed()
            self.client._deliver(lambda: self.client._receive(message, self.inbox))

        async def close(self, code: int, reason: str) -> None:
            self.client.closes.append((code, reason))

    def _deliver(self, action: Any) -> None:
        loop = asyncio.get_running_loop()
        if not self.chaos:
            loop.call_soon(action)
            return
        copies = 2 if self.rng.random() < 0.05 else 1
        for _ in range(copies):
            loop.call_later(self.rng.random() * 0.004, action)

    # -- connection lifecycle ------------------------------------------------------------------------------
    def connect(self) -> None:
        inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._inbox = inbox
        member = Member(self.name, self.name, can_write=True)
        self._serving = asyncio.create_task(self.manager.serve(self._ServerEnd(self, inbox), ROOM, member))
        self._send(protocol.sync_message(protocol.SYNC_STEP1, self.doc.get_state()))

    def disconnect(self) -> None:
        if self._inbox is not None:
            self._inbox.put_nowait(None)
            self._inbox = None  # in-flight frames both ways are lost

    def _send(self, frame: bytes) -> None:
        inbox = self._inbox
        if inbox is not None:
            self._deliver(lambda: inbox.put_nowait(frame) if self._inbox is inbox else None)

    def _receive(self, frame: bytes, inbox: asyncio.Queue[bytes | None]) -> None:
        if self._inbox is not inbox:
            return
        message = protocol.decode(frame)
        if not isinstance(message, protocol.Sync):
            return
        self._remote = True
        try:
            reply = protocol.handle_sync_message(message, self.doc)
        finally:
            self._remote = False
        if reply is not None:
            self._send(reply)

    def _local_change(self, event: Any) -> None:
        if not self._remote:
            self._send(protocol.update_message(event.update))

    # -- edits ---------------------------------------------------------------------------------------------
    def random_edit(self) -> None:
        files = self.doc.get("files", type=Map)
        name = self.rng.choice(["main.py", "main.py", "main.py", "util.py"])
        if name not in files:
            if name == "main.py":
                return  # main.py arrives with the first sync; creating it here would compete with it
            files[name] = Text()
        text = files[name]
        length = len(text)
        if length and self.rng.random() < 0.35:
            start = self.rng.randrange(length)
            del text[start : min(length, start + self.rng.randint(1, 3))]
        else:
            text.insert(self.rng.randint(0, length), self.rng.choice("abcdefgh\n "))

    def files(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.doc.get("files", type=Map).items()}


async def test_five_replicas_converge_under_chaos() -> None:
    rng = random.Random(20261126)
    hub = LocalHub()
    async with (
        RoomManager(MemoryStore(), bus=LocalBus(hub)) as left,
        RoomManager(MemoryStore(), bus=LocalBus(hub)) as right,
    ):
        clients = [ChaosClient(f"c{i}", left if i < 3 else right, random.Random(rng.random())) for i in range(5)]
        for client in clients:
            client.connect()
        await asyncio.sleep(0.05)
        ops = 0
        for _round in range(60):
            for client in clients:
                for _ in range(rng.randint(5, 15)):
                    client.random_edit()
                    ops += 1
                if rng.random() < 0.08:
                    client.disconnect()
                elif client._inbox is None and rng.random() < 0.5:
                    client.connect()
            await asyncio.sleep(rng.random() * 0.01)
        assert ops > 2000
        # Heal: everyone reconnects over a calm network; the sync handshake and anti-entropy do the rest.
        for client in clients:
            client.disconnect()
            client.chaos = False
            client.connect()

        def converged() -> bool:
            first = clients[0].files()
            return all(c.files() == first for c in clients)

        await eventually(converged, within=20)
        assert await left.files(ROOM) == await right.files(ROOM) == clients[0].files()
        assert len(clients[0].files()["main.py"]) > 100
        assert [c.closes for c in clients] == [[]] * 5
