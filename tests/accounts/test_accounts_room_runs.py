"""Runs over the room's socket (issue 15): ``WS /api/rooms/{id}/live`` takes ``run``, ``follow``, ``stdin``,
``stdin_eof`` and ``cancel`` under the rules of ``POST /api/runs`` and the run's stream — strict frames (4400),
who may run, type and cancel, the rate limit, membership read at each run, a disabled account. These run without
Ray (the app answers a permitted run with the 503 of an execution plane that is off); the end-to-end runs with
real sandboxes, one replica and two, are in ``tests/actors/test_runs_api.py`` and ``test_runs_replicas.py``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from authz_harness import LiveServer, app_settings, started
from authz_world import World
from piccolo.engine.base import Engine
from starlette.applications import Starlette

from classroom.app import create_app
from classroom.tables import RoomMember, User

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app(app_database: Engine[Any], tmp_path: Path) -> AsyncIterator[Starlette]:
    """The app with a small runs-per-minute limit (the rate-limit test reaches it)."""
    application = create_app(app_settings(tmp_path, app_database, runs_per_minute="3"))
    async with started(application):
        yield application


async def recv(ws: websockets.ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout=5)))


async def until(ws: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message = await recv(ws)
        if message["type"] == kind:
            return message


async def closed_with(ws: websockets.ClientConnection) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def room_socket(live: LiveServer, world: World, actor: str, room: Any) -> websockets.ClientConnection:
    ws = await websockets.connect(f"{await live.url()}/api/rooms/{room.id}/live?token={world.ws_token(actor)}")
    assert (await recv(ws))["type"] == "snapshot"
    return ws


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00binary",
        "not json",
        '{"type": "run", "type": "run"}',  # a key twice
        '{"type": "run", "stdin": NaN}',
        json.dumps({"type": "launch"}),
        json.dumps(["run"]),
        json.dumps({"type": "run", "room_id": "elsewhere"}),  # the room is the socket's; nothing else is accepted
        json.dumps({"type": "run", "interactive": "yes"}),
        json.dumps({"type": "run", "ref": "x" * 65}),
        json.dumps({"type": "follow"}),
        json.dumps({"type": "follow", "run_id": 7}),
        json.dumps({"type": "stdin", "run_id": "r", "data": 1}),
        json.dumps({"type": "cancel", "run_id": "r", "why": "because"}),
    ],
)
async def test_a_malformed_frame_closes_4400(world: World, live: LiveServer, frame: str | bytes) -> None:
    ws = await room_socket(live, world, "student_a", world.room_a)
    await ws.send(frame)
    assert await closed_with(ws) == 4400


async def test_who_may_run_follow_type_and_cancel(app: Starlette, world: World, live: LiveServer) -> None:
    # A member of the room may run: the only refusal left is the execution plane being off (as POST answers).
    ws = await room_socket(live, world, "student_a", world.room_a)
    await ws.send(json.dumps({"type": "run", "ref": "1"}))
    assert await until(ws, "error") == {
        "type": "error",
        "ref": "1",
        "status": 503,
        "error": "unavailable",
        "detail": "runs are unavailable: the execution plane is off (CLASSROOM_START_RAY=false)",
    }
    # Their own finished run, followed on the same socket: its output and exit, each naming the run.
    run_id = str(world.run_a.id)
    await ws.send(json.dumps({"type": "follow", "run_id": run_id}))
    out = await until(ws, "stdout")
    assert out == {"type": "stdout", "data": "1\n", "run_id": run_id}
    assert (await until(ws, "exit"))["verdict"] == "ok"
    # Another room's run is not this socket's, whether it exists or not.
    for other in (str(world.run_demo.id), "no-such-run"):
        await ws.send(json.dumps({"type": "follow", "run_id": other}))
        assert (await until(ws, "error"))["status"] == 404
    await ws.close()

    # A viewer of a demo does not run in it (they fork it): 403, and the socket stays open.
    viewer = await room_socket(live, world, "student_a", world.demo1)
    await viewer.send(json.dumps({"type": "run", "ref": "demo"}))
    refused = await until(viewer, "error")
    assert (refused["ref"], refused["status"]) == ("demo", 403)
    # They may watch the instructor's run, but neither type into it nor stop it.
    demo_run = str(world.run_demo.id)
    await viewer.send(json.dumps({"type": "follow", "run_id": demo_run}))
    await until(viewer, "exit")
    for frame in ({"type": "stdin", "run_id": demo_run, "data": "x\n"}, {"type": "cancel", "run_id": demo_run}):
        await viewer.send(json.dumps(frame))
        assert (await until(viewer, "error"))["status"] == 403
    await viewer.send(json.dumps({"type": "ping"}))
    await viewer.close()

    # The class's instructor may cancel a student's run but not type its input.
    teacher = await room_socket(live, world, "instructor", world.room_a)
    await teacher.send(json.dumps({"type": "stdin", "run_id": run_id, "data": "x\n"}))
    assert (await until(teacher, "error"))["detail"] == "only the person who started the run may type its input"
    await teacher.send(json.dumps({"type": "cancel", "run_id": run_id}))
    await teacher.send(json.dumps({"type": "run", "ref": "t"}))
    assert (await until(teacher, "error"))["ref"] == "t"  # no answer to the cancel: it was accepted (a no-op)
    await teacher.close()


async def test_runs_over_the_socket_count_against_the_same_limit(world: World, live: LiveServer) -> None:
    ws = await room_socket(live, world, "student_b", world.room_b)
    statuses = []
    for i in range(4):
        await ws.send(json.dumps({"type": "run", "ref": str(i)}))
        statuses.append((await until(ws, "error"))["status"])
    assert statuses == [503, 503, 503, 429]


async def test_membership_is_read_at_each_run_and_a_disabled_account_is_closed(world: World, live: LiveServer) -> None:
    ws = await room_socket(live, world, "student_b", world.pair_ab)
    await ws.send(json.dumps({"type": "run", "ref": "before"}))
    assert (await until(ws, "error"))["status"] == 503
    # Taken out of the pair room (still in the class): the next run is refused as POST would refuse it.
    await (
        RoomMember.delete()
        .where((RoomMember.room == world.pair_ab.id) & (RoomMember.user == world.users["student_b"].id))
        .run()
    )
    await ws.send(json.dumps({"type": "run", "ref": "after"}))
    assert (await until(ws, "error"))["status"] == 404
    await ws.close()

    ws = await room_socket(live, world, "student_a", world.room_a)
    await User.update({User.disabled: True}).where(User.id == world.users["student_a"].id).run()
    await asyncio.sleep(1.1)  # the account cache keeps an answer for at most a second
    await ws.send(json.dumps({"type": "run"}))
    assert await closed_with(ws) == 4401


async def test_a_bad_token_is_refused_at_the_handshake(world: World, live: LiveServer) -> None:
    async with websockets.connect(f"{await live.url()}/api/rooms/{world.room_a.id}/live?token=nope") as ws:
        assert await closed_with(ws) == 4401
