"""The WebSocket endpoint against a real server: handshake refusals, limits, and malformed input that closes one
connection while the room and everyone else carry on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import websockets
from collab_harness import PyClient, eventually, grants_for, running_server

from collab import Limits, MemoryStore, RoomManager, protocol

pytestmark = pytest.mark.anyio
ROOM = "room-a"


async def _close_of(url: str, **kwargs: Any) -> tuple[int | None, list[bytes]]:
    """Connect, collect every frame until the server closes; the close code and the frames received."""
    frames: list[bytes] = []
    async with websockets.connect(url, **kwargs) as ws:
        try:
            async for frame in ws:
                frames.append(frame if isinstance(frame, bytes) else frame.encode())
        except websockets.ConnectionClosed:
            pass
        return ws.close_code, frames


@pytest.mark.parametrize(
    ("query", "headers", "code"),
    [
        ("", {}, 4401),
        ("?token=nope", {}, 4401),
        ("?token=outsider", {}, 4403),
        ("?token=writer", {"Origin": "https://evil.example"}, 4403),
    ],
    ids=["no-token", "bad-token", "other-class", "foreign-origin"],
)
async def test_handshake_refusals_close_with_the_error_code_before_any_room_data(
    query: str, headers: dict[str, str], code: int
) -> None:
    manager = RoomManager(MemoryStore())
    async with running_server(manager, grants_for([ROOM])) as url:
        got, frames = await _close_of(f"{url}/{ROOM}{query}", additional_headers=headers)
        assert (got, frames) == (code, [])
        assert manager.rooms == 0  # the room was not even loaded


async def test_an_allowed_origin_and_token_get_the_room() -> None:
    async with running_server(RoomManager(MemoryStore()), grants_for([ROOM])) as url:
        client = await PyClient.connect(url, ROOM, additional_headers={"Origin": "http://localhost:8000"})
        await asyncio.wait_for(client.synced.wait(), 5)
        assert client.files() == {"main.py": ""}
        await client.close()


BAD_FRAMES = [
    (b"\x00\x02\x05ab", 1007),  # truncated update
    (b"\x00\x02\x03\xff\xfe\xfd", 1007),  # update bytes that do not decode
    (b"\x01\x03\xff\xff\xff", 1007),  # malformed awareness
    (b"\x09", 1003),  # unknown message type
    ("hello", 1003),  # a text frame
    (b"\x00\x02" + b"\x80\x80\x60" + b"x" * (1536 * 1024), 1009),  # 1.5 MiB > the 1 MiB limit
]


@pytest.mark.parametrize(
    ("frame", "code"), BAD_FRAMES, ids=["truncated", "bad-update", "bad-awareness", "unknown-type", "text", "too-big"]
)
async def test_bad_input_closes_only_that_connection(frame: bytes | str, code: int) -> None:
    manager = RoomManager(MemoryStore())
    async with running_server(manager, grants_for([ROOM])) as url:
        good = await PyClient.connect(url, ROOM)
        await asyncio.wait_for(good.synced.wait(), 5)
        good.text().insert(0, "before\n")
        await eventually(lambda: _server_text(manager, "before\n"))
        async with websockets.connect(f"{url}/{ROOM}?token=writer2", max_size=None) as bad:
            await bad.send(frame)
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(bad.recv(), 5)
            assert bad.close_code == code
            assert bad.close_reason  # a clear reason comes with it
        good.text().insert(len("before\n"), "after\n")
        await eventually(lambda: _server_text(manager, "before\nafter\n"))
        late = await PyClient.connect(url, ROOM)
        await asyncio.wait_for(late.synced.wait(), 5)
        assert late.files() == {"main.py": "before\nafter\n"}
        await asyncio.gather(good.close(), late.close())


async def _server_text(manager: RoomManager, text: str) -> bool:
    return (await manager.files(ROOM)).get("main.py") == text


async def test_a_connection_over_its_message_rate_is_closed_with_4429() -> None:
    manager = RoomManager(MemoryStore(), limits=Limits(messages_per_second=5, burst=10))
    async with (
        running_server(manager, grants_for([ROOM])) as url,
        websockets.connect(f"{url}/{ROOM}?token=writer") as ws,
    ):
        for clock in range(1, 40):
            await ws.send(protocol.awareness_message(protocol.encode_awareness([(5, clock, "{}")])))
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4429


async def test_when_every_room_slot_is_busy_a_new_room_is_refused_with_1013() -> None:
    manager = RoomManager(MemoryStore(), limits=Limits(max_rooms=1))
    async with running_server(manager, grants_for(["one", "two"])) as url:
        first = await PyClient.connect(url, "one")
        await asyncio.wait_for(first.synced.wait(), 5)
        code, frames = await _close_of(f"{url}/two?token=writer")
        assert (code, frames) == (1013, [])
        await first.close()
        await eventually(lambda: not manager._rooms["one"].peers)
        second = await PyClient.connect(url, "two")  # the idle room is unloaded to make space
        await asyncio.wait_for(second.synced.wait(), 5)
        await second.close()


async def test_a_peer_that_stops_reading_is_dropped_and_the_room_carries_on() -> None:
    manager = RoomManager(MemoryStore(), limits=Limits(max_queued_bytes=256 * 1024))
    async with running_server(manager, grants_for([ROOM])) as url:
        writer = await PyClient.connect(url, ROOM)
        await asyncio.wait_for(writer.synced.wait(), 5)
        # max_queue=1: the client library stops reading the socket once one message waits unread.
        stalled = await websockets.connect(f"{url}/{ROOM}?token=writer2", max_queue=1, max_size=None)
        await eventually(lambda: len(manager._rooms[ROOM].peers) == 2)
        for i in range(24):  # ~12 MB: more than the kernel's socket buffers and the 256 KiB queue limit
            writer.text().insert(0, f"{i:02d}" + "x" * 500_000)
            await asyncio.sleep(0.02)
        await eventually(lambda: len(manager._rooms[ROOM].peers) == 1, within=20)
        late = await PyClient.connect(url, ROOM)
        await asyncio.wait_for(late.synced.wait(), 20)
        assert late.files() == writer.files()
        stalled.transport.abort()
        await asyncio.gather(writer.close(), late.close())
