"""Removing a student from a class closes their run streams (``WS /api/runs/{id}/stream``), as it
closes their room sockets (:mod:`classroom.presence.service`)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import websockets
from authz_harness import LiveServer
from authz_world import World
from piccolo.engine.base import Engine

from classroom.presence import service as presence
from classroom.tables import Run

DEADLINE = 30.0  # seconds: generous, for a loaded machine; the tests check events, not speed


@pytest.fixture
def app_database(database: Engine[Any]) -> Engine[Any]:
    """These tests run on SQLite and on PostgreSQL."""
    return database


@pytest.mark.anyio
async def test_removing_a_student_closes_their_run_streams_within_a_second(
    client: httpx.AsyncClient, live: LiveServer, world: World
) -> None:
    student = world.users["student_a"]
    # A queued run of theirs: with no dispatcher here, the stream follows the row and stays open.
    run = Run(
        id=uuid.uuid4(),
        user=student.id,
        klass=world.class1.id,
        room=world.room_a.id,
        status="queued",
        files={"main.py": "print(1)"},
        created_at=datetime.now(UTC),
    )
    await run.save().run()
    url = f"{await live.url()}/api/runs/{run.id}/stream?token={world.ws_token('student_a')}"
    async with websockets.connect(url) as ws:
        for _ in range(int(DEADLINE / 0.01)):  # registered once the handshake's access check ran
            if presence.count(student.id):
                break
            await asyncio.sleep(0.01)
        assert presence.count(student.id) == 1
        removed = await client.delete(
            f"/api/classes/{world.class1.id}/students/{student.id}", headers=world.headers("instructor")
        )
        assert removed.json()["closed_sockets"] == 1
        # closed_sockets == 1: the server closed it before answering; the close frame is on its way
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(DEADLINE):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        assert closed.value.rcvd.reason == "you were removed from this class"
    assert presence.count(student.id) == 0
