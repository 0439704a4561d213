"""Any request may land on any replica: a run submitted on one web replica is streamed, fed stdin and cancelled
through another, live (PostgreSQL + Redis, as two replicas behind a plain load balancer).

Replica A holds the execution plane (its dispatcher runs the run); replica B has none of its own
(``CLASSROOM_START_RAY=false``), so everything B does for the run goes through the run relay over Redis.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from runs_helpers import CLASS_OF, backend_or_skip, frames_until, make_class, make_room, make_user, slots_ready

from classroom.app import create_app
from classroom.auth import tokens
from classroom.settings import Settings, load_settings

REDIS_URL = os.environ.get("CLASSROOM_TEST_REDIS", "redis://127.0.0.1:6379/11")
pytestmark = [pytest.mark.anyio, pytest.mark.ray, pytest.mark.sandbox, pytest.mark.redis, pytest.mark.postgres]


class Replica:
    def __init__(self, base: str, settings: Settings, app: Any) -> None:
        self.base, self.settings, self.app = base, settings, app
        self.http = httpx.AsyncClient(base_url=base, timeout=30)

    def bearer(self, user: str) -> dict[str, str]:
        jwt = tokens.issue_jwt(self.settings, uuid.UUID(user), tokens.API_AUDIENCE, 600)
        return {"authorization": f"Bearer {jwt}"}

    def stream_url(self, run_id: str, user: str) -> str:
        jwt = tokens.issue_jwt(self.settings, uuid.UUID(user), tokens.WS_AUDIENCE, 600)
        return f"{self.base.replace('http', 'ws')}/api/runs/{run_id}/stream?token={jwt}"


async def _serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(1200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "a replica did not start"
    return server, task, server.servers[0].sockets[0].getsockname()[1]


@pytest.fixture(scope="module")
async def replicas(
    ray_local: None, postgres_url: str, _postgres_engine: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Replica, Replica]]:
    await backend_or_skip()
    from actors import cluster

    common = {
        "CLASSROOM_DATABASE_URL": postgres_url,
        "CLASSROOM_REDIS_URL": REDIS_URL,
        "CLASSROOM_SECRET_KEY": "replicas-share-one-secret-key-0123456789",
        "CLASSROOM_WARM_SANDBOXES": "1",
        "CLASSROOM_RUNS_PER_MINUTE": "1000",
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cluster, "disconnect", lambda: None)  # the session's Ray outlives these apps
        running = []
        replicas = []
        for name, ray in (("a", "true"), ("b", "false")):
            data = tmp_path_factory.mktemp(f"replica-{name}")
            env = {**common, "CLASSROOM_DATA_DIR": str(data), "CLASSROOM_START_RAY": ray}
            settings = load_settings(env, dotenv=None)
            app = create_app(settings)
            server, task, port = await _serve(app)
            running.append((server, task))
            replicas.append(Replica(f"http://127.0.0.1:{port}", settings, app))
        await slots_ready(replicas[0].app.state.runs.dispatcher)  # the owner's
        try:
            yield replicas[0], replicas[1]
        finally:
            for replica in replicas:
                await replica.http.aclose()
            for server, task in reversed(running):
                server.should_exit = True
                await task


async def _submit(replica: Replica, user: str, code: str, *, interactive: bool = False) -> str:
    body = {"code": code, "class_id": CLASS_OF[user], "interactive": interactive}
    response = await replica.http.post("/api/runs", json=body, headers=replica.bearer(user))
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_stream_and_stdin_through_the_other_replica(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    user = await make_user("ada")
    code = "print('ready', flush=True)\nname = input()\nprint('hello', name)\n"
    run_id = await _submit(a, user, code, interactive=True)
    assert a.app.state.runs.dispatcher.is_local(run_id)
    async with websockets.connect(b.stream_url(run_id, user)) as ws:
        # Live: the first line arrives while the program still waits for input, not at its exit.
        before = await frames_until(ws, "stdout", "ready")
        assert all(m["type"] != "exit" for m in before)
        await ws.send(json.dumps({"type": "stdin", "data": "Ada\n"}))
        rest = await frames_until(ws, "exit")
    output = "".join(m.get("data", "") for m in before + rest if m["type"] == "stdout")
    assert output == "ready\nhello Ada\n"
    assert rest[-1]["verdict"] == "ok"


async def test_cancel_through_the_other_replica(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    user = await make_user("grace")
    run_id = await _submit(a, user, "print('spinning', flush=True)\nwhile True:\n    pass\n")
    async with websockets.connect(b.stream_url(run_id, user)) as ws:
        await frames_until(ws, "stdout", "spinning")
        cancelled = await b.http.post(f"/api/runs/{run_id}/cancel", headers=b.bearer(user))
        assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True
        end = await frames_until(ws, "exit")
    assert end[-1]["verdict"] == "cancelled"


async def test_two_followers_on_the_other_replica_see_everything_once(replicas: tuple[Replica, Replica]) -> None:
    """A second follower's ``watch`` replays the history: the first one must not see anything twice."""
    a, b = replicas
    user = await make_user("lin")
    code = "import sys\nprint('one', flush=True)\nsys.stdin.readline()\nprint('two', flush=True)\n"
    run_id = await _submit(a, user, code, interactive=True)
    async with websockets.connect(b.stream_url(run_id, user)) as first:
        head = await frames_until(first, "stdout", "one")
        async with websockets.connect(b.stream_url(run_id, user)) as second:
            late = await frames_until(second, "stdout", "one")  # a late follower gets the history
            await second.send(json.dumps({"type": "stdin", "data": "go\n"}))
            late += await frames_until(second, "exit")
        tail = await frames_until(first, "exit")
    for seen in (head + tail, late):
        outputs = [m["data"] for m in seen if m["type"] == "stdout"]
        assert "".join(outputs) == "one\ntwo\n", seen


async def test_a_rooms_run_reaches_its_pages_on_the_other_replica_with_the_input_echoed(
    replicas: tuple[Replica, Replica],
) -> None:
    """Issue 12: the room feed and the shared console across replicas. Ada's run starts on A; Grace's page on B
    hears of it, streams it through B, sees what Ada typed (through B too) once, and hears that it finished."""
    a, b = replicas
    teacher, ada, grace = await make_user("t", "instructor"), await make_user("ada"), await make_user("grace")
    room = await make_room(await make_class(teacher), teacher, kind="pair", members=(ada, grace))
    await a.app.state.rooms.set_files(room, {"main.py": "name = input('who? ')\nprint('hi', name)\n"})
    feed_token = tokens.issue_jwt(b.settings, uuid.UUID(grace), tokens.WS_AUDIENCE, 600)
    feed_url = f"{b.base.replace('http', 'ws')}/api/rooms/{room}/live?token={feed_token}"
    async with websockets.connect(feed_url) as feed:
        assert json.loads(await asyncio.wait_for(feed.recv(), 10))["type"] == "snapshot"
        body = {"room_id": room, "interactive": True}
        response = await a.http.post("/api/runs", json=body, headers=a.bearer(ada))
        assert response.status_code == 202, response.text
        run_id = response.json()["id"]
        started = json.loads(await asyncio.wait_for(feed.recv(), 10))
        assert started["run"]["id"] == run_id and started["run"]["display_name"] == "ada"
        async with websockets.connect(b.stream_url(run_id, grace)) as partner:
            async with websockets.connect(b.stream_url(run_id, ada)) as starter:
                await frames_until(starter, "stdout", "who?")
                await starter.send(json.dumps({"type": "stdin", "data": "Ada\n"}))
                await frames_until(starter, "exit")
            seen = await frames_until(partner, "exit")
        assert [m["data"] for m in seen if m["type"] == "stdin"] == ["Ada\n"]
        assert "".join(m["data"] for m in seen if m["type"] == "stdout") == "who? hi Ada\n"
        finished = json.loads(await asyncio.wait_for(feed.recv(), 30))
        assert finished["run"]["id"] == run_id and finished["run"]["verdict"] == "ok"


async def test_a_room_socket_on_the_other_replica_follows_types_and_cancels(
    replicas: tuple[Replica, Replica],
) -> None:
    """Issue 15: the room socket carries runs across replicas as the run's stream does. A run of the room runs on
    A; Ada's page holds its room socket on B, which has no execution plane of its own (a run started there is
    refused with 503, as ``POST /api/runs`` on B is), and follows it there, types into it and stops another."""
    a, b = replicas
    teacher, ada = await make_user("t", "instructor"), await make_user("ada")
    room = await make_room(await make_class(teacher), teacher, kind="pair", members=(ada,))
    await a.app.state.rooms.set_files(room, {"main.py": "name = input('who? ')\nprint('hi', name)\n"})
    token = tokens.issue_jwt(b.settings, uuid.UUID(ada), tokens.WS_AUDIENCE, 600)
    async with websockets.connect(f"{b.base.replace('http', 'ws')}/api/rooms/{room}/live?token={token}") as page:
        assert json.loads(await asyncio.wait_for(page.recv(), 10))["type"] == "snapshot"
        await page.send(json.dumps({"type": "run", "ref": "on-b"}))
        refused = await frames_until(page, "error")
        assert (refused[-1]["ref"], refused[-1]["status"]) == ("on-b", 503)

        response = await a.http.post("/api/runs", json={"room_id": room, "interactive": True}, headers=a.bearer(ada))
        assert response.status_code == 202, response.text
        run_id = response.json()["id"]
        await page.send(json.dumps({"type": "follow", "run_id": run_id}))
        head = await frames_until(page, "stdout", "who?")
        await page.send(json.dumps({"type": "stdin", "run_id": run_id, "data": "Ada\n"}))
        tail = await frames_until(page, "exit")
        stream = [m for m in head + tail if m.get("run_id") == run_id]
        assert "".join(m["data"] for m in stream if m["type"] == "stdout") == "who? hi Ada\n"
        assert [m["data"] for m in stream if m["type"] == "stdin"] == ["Ada\n"]  # echoed once, from A
        assert tail[-1]["verdict"] == "ok"

        await a.app.state.rooms.set_files(room, {"main.py": "print('spin', flush=True)\nwhile True:\n    pass\n"})
        response = await a.http.post("/api/runs", json={"room_id": room}, headers=a.bearer(ada))
        spin_id = response.json()["id"]
        await page.send(json.dumps({"type": "follow", "run_id": spin_id}))
        await frames_until(page, "stdout", "spin")
        await page.send(json.dumps({"type": "cancel", "run_id": spin_id}))
        assert (await frames_until(page, "exit"))[-1]["verdict"] == "cancelled"
