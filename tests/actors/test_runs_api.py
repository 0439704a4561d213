"""The run API end to end: a real server on port 0, real Ray (the session's local cluster), real sandboxes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from runs_helpers import backend_or_skip, make_class, make_room, make_user

from classroom import tokens
from classroom.app import create_app
from classroom.settings import Settings, load_settings

pytestmark = [pytest.mark.anyio, pytest.mark.ray, pytest.mark.sandbox]


def text(messages: list[dict[str, Any]], stream: str = "stdout") -> str:
    return "".join(m["data"] for m in messages if m["type"] == stream)


class Live:
    def __init__(self, base: str, settings: Settings, app: Any) -> None:
        self.base, self.settings, self.app = base, settings, app
        self.http = httpx.AsyncClient(base_url=base, timeout=30)

    def bearer(self, user: str) -> dict[str, str]:
        jwt = tokens.issue_jwt(self.settings, uuid.UUID(user), tokens.API_AUDIENCE, 600)
        return {"authorization": f"Bearer {jwt}"}

    def ws_url(self, run_id: str, user: str) -> str:
        jwt = tokens.issue_jwt(self.settings, uuid.UUID(user), tokens.WS_AUDIENCE, 600)
        return f"{self.base.replace('http', 'ws')}/api/runs/{run_id}/stream?token={jwt}"

    async def submit(self, user: str, **body: Any) -> dict[str, Any]:
        response = await self.http.post("/api/runs", json=body, headers=self.bearer(user))
        assert response.status_code == 202, response.text
        return dict(response.json())

    async def messages(self, run_id: str, user: str, send: list[dict[str, Any]] = ()) -> list[dict[str, Any]]:  # type: ignore[assignment]
        out = []
        async with websockets.connect(self.ws_url(run_id, user)) as ws:
            for message in send:
                await ws.send(json.dumps(message))
            async for raw in ws:
                out.append(json.loads(raw))
        return out


@pytest.fixture(scope="module")
async def live(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    """One server (and its two slot actors) for the module's tests; each test makes its own users."""
    await backend_or_skip()
    from actors import cluster

    tmp_path = tmp_path_factory.mktemp("runs-api")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cluster, "disconnect", lambda: None)  # the session's Ray outlives this app
        settings = load_settings(
            {
                "CLASSROOM_DATA_DIR": str(tmp_path / "data"),
                "CLASSROOM_WARM_SANDBOXES": "1",
                "CLASSROOM_PORT": "0",
                "CLASSROOM_RUNS_PER_MINUTE": "1000",
            },
            dotenv=None,
        )
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
        task = asyncio.create_task(server.serve())
        for _ in range(600):
            if server.started:
                break
            await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        live = Live(f"http://127.0.0.1:{port}", settings, app)
        for _ in range(200):  # slots warm up
            if app.state.runs.dispatcher.fleet.ready():
                break
            await asyncio.sleep(0.1)
        yield live
        await live.http.aclose()
        server.should_exit = True
        await task


@pytest.fixture(autouse=True)
def _bound(live: Live) -> None:
    """Other modules' fixtures bind other databases; this module's tests use the server's."""
    from classroom import db

    db.bind(live.app.state.database.engine)


async def test_submit_stream_and_read(live: Live) -> None:
    user = await make_user()
    accepted = await live.submit(user, code="print('hello')\nraise ValueError('boom')")
    assert (accepted["status"], accepted["queue_position"]) == ("running", 0)  # a free slot: started at once
    messages = await live.messages(accepted["id"], user)
    kinds = [m["type"] for m in messages]
    assert kinds[0] in ("queued", "started") and kinds[-1] == "exit"
    assert text(messages) == "hello\n" and "ValueError: boom" in text(messages, "stderr")
    exit_ = messages[-1]
    assert (
        exit_["verdict"] == "runtime_error" and exit_["error"]["type"] == "ValueError" and exit_["error"]["line"] == 2
    )
    run = (await live.http.get(f"/api/runs/{accepted['id']}", headers=live.bearer(user))).json()
    assert run["status"] == "finished" and run["verdict"] == "runtime_error" and run["stdout"] == "hello\n"
    assert run["wall_ms"] is not None and run["code_hash"]
    from classroom.tables import AuditLog

    for _ in range(50):  # audit rows are written in batches, off the hot path
        audit = await AuditLog.objects().where(AuditLog.target == accepted["id"]).first().run()
        if audit is not None:
            break
        await asyncio.sleep(0.1)
    assert audit is not None and audit.action == "run" and str(audit.actor) == user
    detail = json.loads(audit.detail) if isinstance(audit.detail, str) else audit.detail
    assert detail["verdict"] == "runtime_error" and detail["code_hash"] == run["code_hash"]
    # a late subscriber gets it all again
    again = await live.messages(accepted["id"], user)
    assert [m for m in again if m["type"] != "queued"] == [m for m in messages if m["type"] != "queued"]


async def test_stdin_round_trip_cancel_and_late_subscriber(live: Live) -> None:
    user = await make_user()
    echo = await live.submit(user, code="print('hi', input('name? '))", interactive=True)
    messages = await live.messages(echo["id"], user, send=[{"type": "stdin", "data": "Ada\n"}])
    assert text(messages) == "name? hi Ada\n" and messages[-1]["verdict"] == "ok"

    loop = await live.submit(user, code="import time\nprint('tick', flush=True)\nwhile True: pass")
    await asyncio.sleep(1.0)  # it is running and has printed: a late subscriber
    async with websockets.connect(live.ws_url(loop["id"], user)) as ws:
        first = [json.loads(await ws.recv()) for _ in range(2)]
        assert first[0] == {"type": "started", "attempt": 1} and first[1]["data"].startswith("tick")
        await ws.send(json.dumps({"type": "cancel"}))
        rest = [json.loads(raw) async for raw in ws]
    assert rest[-1]["type"] == "exit" and rest[-1]["verdict"] == "cancelled"


async def test_room_run_takes_the_document_and_access_rules(live: Live) -> None:
    teacher, student, stranger = await make_user("t", "instructor"), await make_user("s"), await make_user("x")
    class_id = await make_class(teacher)
    room = await make_room(class_id, teacher, members=(student,))
    await live.app.state.rooms.set_files(room, {"main.py": "print('from the room')"})
    accepted = await live.submit(student, room_id=room)
    messages = await live.messages(accepted["id"], teacher)
    assert text(messages) == "from the room\n"
    from classroom.tables import Run

    row = await Run.objects().where(Run.id == uuid.UUID(accepted["id"])).first().run()
    assert row.state_vector and str(row.klass) == class_id
    # what ran can be replayed exactly, whatever the room became since
    await live.app.state.rooms.set_files(room, {"main.py": "print('edited later')"})
    replayed = await live.app.state.rooms.rebuild(room, state_vector=bytes(row.state_vector))
    ran = json.loads(row.files) if isinstance(row.files, str) else row.files
    assert replayed == {k: v for k, v in ran.items() if not k.startswith("/")} == {"main.py": "print('from the room')"}
    # the instructor's run in a demo room goes first
    demo = await make_room(class_id, teacher, kind="demo")
    await live.app.state.rooms.set_files(demo, {"main.py": "print('demo')"})
    demo_run = await live.submit(teacher, room_id=demo)
    demo_row = await Run.objects().where(Run.id == uuid.UUID(demo_run["id"])).first().run()
    assert demo_row.priority == 1 and row.priority == 0
    listed = (await live.http.get(f"/api/rooms/{room}/runs", headers=live.bearer(student))).json()
    assert [r["id"] for r in listed["runs"]] == [accepted["id"]]
    # a stranger can neither read, stream, nor list it
    assert (await live.http.get(f"/api/runs/{accepted['id']}", headers=live.bearer(stranger))).status_code == 404
    assert (await live.http.get(f"/api/rooms/{room}/runs", headers=live.bearer(stranger))).status_code == 404
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with websockets.connect(live.ws_url(accepted["id"], stranger)) as ws:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


async def test_malformed_input_is_refused_precisely(live: Live) -> None:
    user = await make_user()
    bad = await live.http.post("/api/runs", json={"code": "x", "files": []}, headers=live.bearer(user))
    assert bad.status_code == 400 and "exactly one of" in bad.json()["detail"]
    bad = await live.http.post(
        "/api/runs", json={"files": [{"name": "../x.py", "content": ""}], "entry": "../x.py"}, headers=live.bearer(user)
    )
    assert bad.status_code == 400 and "bad file path" in bad.json()["detail"]
    accepted = await live.submit(user, code="import time; time.sleep(2)")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with websockets.connect(live.ws_url(accepted["id"], user)) as ws:
            await ws.send("not json")
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_rows_left_by_a_dead_process_are_recovered(live: Live) -> None:
    """A queued row nobody holds in memory, and a running row whose dispatcher stopped renewing its lease."""
    from datetime import UTC, datetime, timedelta

    from classroom.tables import Run

    user, other = uuid.UUID(await make_user()), uuid.UUID(await make_user("other"))
    now = datetime.now(UTC)
    queued = Run(id=uuid.uuid4(), user=user, files={"main.py": "print('q')"}, created_at=now)
    running = Run(
        id=uuid.uuid4(),
        user=other,
        files={"main.py": "print('r')"},
        status="running",
        attempts=1,
        slot="d-dead/slot-x/abc",
        lease_expires_at=now - timedelta(seconds=1),
        created_at=now,
    )
    await queued.save().run()
    await running.save().run()
    for _ in range(200):
        rows = await Run.select().where(Run.id.is_in([queued.id, running.id]) & (Run.status == "finished")).run()
        if len(rows) == 2:
            break
        await asyncio.sleep(0.1)
    by_id = {r["id"]: r for r in rows}
    assert (by_id[queued.id]["verdict"], by_id[queued.id]["stdout"], by_id[queued.id]["attempts"]) == ("ok", "q\n", 1)
    assert (by_id[running.id]["stdout"], by_id[running.id]["attempts"]) == ("r\n", 2)


async def test_runs_per_minute_is_enforced_and_the_api_is_documented(live: Live) -> None:
    import dataclasses

    from classroom.ratelimit import MemoryRateLimiter

    service, state = live.app.state.runs, live.app.state
    saved = (service.settings, getattr(state, "rate_limiter", None))
    service.settings = dataclasses.replace(service.settings, runs_per_minute=2)
    state.rate_limiter = MemoryRateLimiter()
    try:
        user = await make_user()
        for _ in range(2):
            await live.submit(user, code="print(1)")
        refused = await live.http.post("/api/runs", json={"code": "print(1)"}, headers=live.bearer(user))
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert "at most 2 per 60 s" in refused.json()["detail"]
    finally:
        service.settings, state.rate_limiter = saved
    schema = (await live.http.get("/openapi.json")).json()
    assert {"/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/cancel", "/api/rooms/{room_id}/runs"} <= set(
        schema["paths"]
    )
    assert schema["paths"]["/api/runs"]["post"]["responses"]["202"]["content"]
    assert "/api/runs/{run_id}/stream" in schema["info"]["description"]


async def test_a_queued_run_says_where_it_stands_then_starts(live: Live) -> None:
    user = await make_user()
    first = await live.submit(user, code="while True: pass")
    second = await live.submit(user, code="print('second')")  # one running run per student: it waits
    assert second["status"] == "queued" and second["queue_position"] >= 1
    async with websockets.connect(live.ws_url(second["id"], user)) as ws:
        assert json.loads(await ws.recv())["type"] == "queued"
        cancelled = await live.http.post(f"/api/runs/{first['id']}/cancel", headers=live.bearer(user))
        assert cancelled.json() == {"id": first["id"], "cancelled": True}
        rest = [json.loads(raw) async for raw in ws]
    assert rest[0]["type"] == "started" and text(rest) == "second\n" and rest[-1]["verdict"] == "ok"
    run = (await live.http.get(f"/api/runs/{first['id']}", headers=live.bearer(user))).json()
    assert run["verdict"] == "cancelled"


async def test_an_output_flood_is_capped_and_still_ends_with_exit(live: Live) -> None:
    user = await make_user()
    accepted = await live.submit(user, code="i = 0\nwhile True:\n    print(i, 'x' * 100)\n    i += 1")
    messages = await live.messages(accepted["id"], user)
    assert messages[-1]["type"] == "exit" and messages[-1]["verdict"] == "output_limit"
    assert messages[-1]["stdout_truncated"] is True
    streamed = text(messages)
    assert streamed.startswith("0 xxx") and len(streamed.encode()) <= live.settings.run_output_kb * 1024
    run = (await live.http.get(f"/api/runs/{accepted['id']}", headers=live.bearer(user))).json()
    assert run["stdout"] == streamed and run["stdout_truncated"] is True
