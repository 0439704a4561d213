"""Interop with the real Node clients (yjs + y-websocket + ws) and a pycrdt client, against a real server."""

from __future__ import annotations

import asyncio

import pytest
from collab_harness import NodeClient, PyClient, eventually, grants_for, running_server

from collab import MemoryStore, RoomManager

pytestmark = [pytest.mark.anyio, pytest.mark.node]
ROOM = "room-a"


async def test_two_node_clients_converge_under_concurrent_random_edits(node_modules: object) -> None:
    manager = RoomManager(MemoryStore())
    async with running_server(manager, grants_for([ROOM])) as url:
        a = await NodeClient.start(url, ROOM, "writer")
        b = await NodeClient.start(url, ROOM, "writer2")
        try:
            await asyncio.gather(a.call("wait_synced"), b.call("wait_synced"))
            await asyncio.gather(
                a.call("random", count=400, seed=1, delay=1), b.call("random", count=400, seed=2, delay=1)
            )
            await eventually(lambda: _same(a, b, manager))
            files = await a.files()
            assert len(files["main.py"]) > 20
        finally:
            await asyncio.gather(a.close(), b.close())


async def _same(a: NodeClient, b: NodeClient, manager: RoomManager) -> bool:
    fa, fb = await a.files(), await b.files()
    return fa == fb == await manager.files(ROOM)


async def test_awareness_passes_between_node_clients(node_modules: object) -> None:
    async with running_server(RoomManager(MemoryStore()), grants_for([ROOM])) as url:
        a = await NodeClient.start(url, ROOM, "writer")
        b = await NodeClient.start(url, ROOM, "writer2")
        try:
            await asyncio.gather(a.call("wait_synced"), b.call("wait_synced"))
            await a.call("awareness", state={"user": {"name": "Ada", "color": "#f00"}, "cursor": 3})

            async def b_sees_ada() -> bool:
                peers = (await b.call("peers"))["peers"]
                return any(p.get("user", {}).get("name") == "Ada" for p in peers)

            await eventually(b_sees_ada)
        finally:
            await asyncio.gather(a.close(), b.close())


async def test_read_only_edits_never_reach_others_and_the_viewer_is_told(node_modules: object) -> None:
    manager = RoomManager(MemoryStore())
    async with running_server(manager, grants_for([ROOM])) as url:
        teacher = await NodeClient.start(url, ROOM, "writer")
        student = await NodeClient.start(url, ROOM, "viewer")
        try:
            await asyncio.gather(teacher.call("wait_synced"), student.call("wait_synced"))
            await teacher.call("insert", text="print('demo')\n")
            await eventually(lambda: _has(student, "print('demo')\n"))
            await student.call("insert", index=0, text="HACKED ")
            await student.call("insert", file="evil.py", text="x")
            await eventually(lambda: any(e.get("event") == "denied" for e in student.events))
            await teacher.call("insert", index=0, text="# ok\n")
            # The viewer still receives the document (its own rejected edit stays local to it).
            await eventually(lambda: _contains(student, "# ok\n"))
            await asyncio.sleep(0.3)
            assert await teacher.files() == {"main.py": "# ok\nprint('demo')\n"}
            assert await manager.files(ROOM) == {"main.py": "# ok\nprint('demo')\n"}
        finally:
            await asyncio.gather(teacher.close(), student.close())


async def _contains(client: NodeClient, text: str) -> bool:
    return text in (await client.files()).get("main.py", "")


async def _has(client: NodeClient, text: str) -> bool:
    return (await client.files()).get("main.py") == text


async def test_a_pycrdt_client_and_node_clients_share_a_room(node_modules: object) -> None:
    manager = RoomManager(MemoryStore())
    async with running_server(manager, grants_for([ROOM])) as url:
        node = await NodeClient.start(url, ROOM, "writer")
        py = await PyClient.connect(url, ROOM, "writer2")
        try:
            await node.call("wait_synced")
            await asyncio.wait_for(py.synced.wait(), 10)
            await node.call("insert", text="from node\n")
            await eventually(lambda: py.files().get("main.py") == "from node\n")
            py.text().insert(0, "from python\n")
            await eventually(lambda: _has(node, "from python\nfrom node\n"))
            await node.call("insert", file="util.py", text="def f(): pass\n")
            await eventually(lambda: py.files().get("util.py") == "def f(): pass\n")
        finally:
            await node.close()
            await py.close()
