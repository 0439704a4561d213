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
from runs_helpers import CLASS_OF, backend_or_skip, frames_until, make_class, make_room, make_user, slots_ready

from classroom.app import create_app
from classroom.auth import tokens
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
        if "room_id" not in body and user in CLASS_OF:
            body.setdefault("class_id", CLASS_OF[user])  # a student's run belongs to one of their classes
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
        await slots_ready(app.state.runs.dispatcher)
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
    async with websockets.connect(live.ws_url(loop["id"], user)) as early:  # wait until it has printed
        async with asyncio.timeout(60):
            while "tick" not in str(json.loads(await early.recv()).get("data", "")):
                pass
        # a late subscriber: it gets the history first (queue positions aside), then the live run
        async with websockets.connect(live.ws_url(loop["id"], user)) as ws:
            first: list[dict[str, Any]] = []
            async with asyncio.timeout(60):
                while len(first) < 2:
                    message = json.loads(await ws.recv())
                    if message["type"] != "queued":
                        first.append(message)
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


async def test_shared_console_partner_sees_input_echoed_and_cannot_type(live: Live) -> None:
    """Issue 12: a pair room's run is the room's: the partner streams it and sees the starter's input echoed;
    only the starter types; the room feed announces it at the start and at the end; its code is on record."""
    teacher, ada, grace = await make_user("t", "instructor"), await make_user("ada"), await make_user("grace")
    class_id = await make_class(teacher)
    room = await make_room(class_id, teacher, kind="pair", members=(ada, grace))
    await live.app.state.rooms.set_files(room, {"main.py": "name = input('who? ')\nprint('hi', name)\n"})
    page = live.app.state.room_feed.subscribe(room)
    try:
        accepted = await live.submit(ada, room_id=room, interactive=True)
        announced = await asyncio.wait_for(page.get(), timeout=10)
        assert announced["run"]["id"] == accepted["id"] and announced["run"]["display_name"] == "ada"
        async with websockets.connect(live.ws_url(accepted["id"], grace)) as partner:
            # Grace may not type into Ada's program.
            async with websockets.connect(live.ws_url(accepted["id"], grace)) as meddler:
                await meddler.send(json.dumps({"type": "stdin", "data": "Grace\n"}))
                with pytest.raises(websockets.ConnectionClosed) as refused:
                    while True:
                        await meddler.recv()
                assert refused.value.rcvd is not None and refused.value.rcvd.code == 4403
            mine = await live.messages(accepted["id"], ada, send=[{"type": "stdin", "data": "Ada\n"}])
            seen = [json.loads(raw) async for raw in partner]
        assert text(mine) == text(seen) == "who? hi Ada\n"
        assert [m["data"] for m in seen if m["type"] == "stdin"] == ["Ada\n"]
        finished = await asyncio.wait_for(page.get(), timeout=30)
        assert finished["run"]["id"] == accepted["id"] and finished["run"]["verdict"] == "ok"
    finally:
        live.app.state.room_feed.unsubscribe(room, page)
    code = (await live.http.get(f"/api/runs/{accepted['id']}/code", headers=live.bearer(grace))).json()
    assert code["entry"] == "main.py" and code["state_vector"]
    assert code["files"] == [{"name": "main.py", "content": "name = input('who? ')\nprint('hi', name)\n"}]


async def test_malformed_input_is_refused_precisely(live: Live) -> None:
    user = await make_user()
    bad = await live.http.post("/api/runs", json={"code": "x", "files": []}, headers=live.bearer(user))
    assert bad.status_code == 400 and "exactly one of" in bad.json()["detail"]
    bad = await live.http.post(
        "/api/runs",
        json={"files": [{"name": "../x.py", "content": ""}], "entry": "../x.py", "class_id": CLASS_OF[user]},
        headers=live.bearer(user),
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

    from classroom.auth.ratelimit import MemoryRateLimiter

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


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "stdin", "data": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"type": "stdin", "type": "cancel"}',
        "[" * 100 + "]" * 100,
    ],
)
async def test_hostile_stream_frames_close_with_4400_and_a_reason(live: Live, frame: str) -> None:
    user = await make_user()
    accepted = await live.submit(user, code="import time; time.sleep(2)")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with websockets.connect(live.ws_url(accepted["id"], user)) as ws:
            await ws.send(frame)
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400 and closed.value.rcvd.reason


async def test_a_room_whose_document_holds_too_many_files_is_refused_with_a_reason(live: Live) -> None:
    """The body's limits (count, name, size) hold for files taken from a room's document too."""
    teacher, student = await make_user("t", "instructor"), await make_user()
    room = await make_room(await make_class(teacher), teacher, members=(student,))
    rooms = live.app.state.rooms
    await rooms.set_files(room, {f"f{i}.py": "x = 1\n" for i in range(2_000)} | {"main.py": "print(1)"})
    refused = await live.http.post("/api/runs", json={"room_id": room}, headers=live.bearer(student))
    assert refused.status_code == 400
    assert refused.json()["detail"] == "the room's files: 2001 files; a run takes at most 50"
    await rooms.set_files(room, {"main.py": "x = '" + "y" * 600_000 + "'"}, replace=True)
    refused = await live.http.post("/api/runs", json={"room_id": room}, headers=live.bearer(student))
    assert refused.status_code == 400 and "'main.py' is longer than 524288 characters" in refused.json()["detail"]
    await rooms.set_files(room, {"main.py": "print('fine')"}, replace=True)
    accepted = await live.submit(student, room_id=room)
    assert text(await live.messages(accepted["id"], student)) == "fine\n"


async def test_run_over_the_rooms_socket_streams_there_with_input_and_cancel(live: Live) -> None:
    """Issue 15: the page's room socket starts the run and carries its output, stdin and cancel — no POST, no
    stream socket. The partner's page follows the same run on their own room socket and sees the input echoed."""
    teacher, ada, grace = await make_user("t", "instructor"), await make_user("ada"), await make_user("grace")
    room = await make_room(await make_class(teacher), teacher, kind="pair", members=(ada, grace))
    await live.app.state.rooms.set_files(room, {"main.py": "name = input('who? ')\nprint('hi', name)\n"})

    def room_url(user: str) -> str:
        jwt = tokens.issue_jwt(live.settings, uuid.UUID(user), tokens.WS_AUDIENCE, 600)
        return f"{live.base.replace('http', 'ws')}/api/rooms/{room}/live?token={jwt}"

    async with websockets.connect(room_url(ada)) as mine, websockets.connect(room_url(grace)) as theirs:
        assert json.loads(await mine.recv())["type"] == json.loads(await theirs.recv())["type"] == "snapshot"
        await mine.send(json.dumps({"type": "run", "ref": "r1"}))
        head = await frames_until(mine, "stdout", "who?")
        accepted = next(m for m in head if m["type"] == "accepted")
        run_id = accepted["run_id"]
        assert accepted["ref"] == "r1" and accepted["status"] in ("queued", "running")
        assert all(m.get("run_id") == run_id for m in head if m["type"] in ("started", "stdout"))
        announced = await frames_until(theirs, "run")  # the partner's page hears of it and follows it
        assert announced[-1]["run"]["id"] == run_id
        await theirs.send(json.dumps({"type": "follow", "run_id": run_id}))
        await frames_until(theirs, "stdout", "who?")
        # The partner cannot type into it; the starter can, on the same socket that started it.
        await theirs.send(json.dumps({"type": "stdin", "run_id": run_id, "data": "Mallory\n"}))
        assert (await frames_until(theirs, "error"))[-1]["status"] == 403
        await mine.send(json.dumps({"type": "stdin", "run_id": run_id, "data": "Ada\n"}))
        tail = await frames_until(mine, "exit")
        assert "".join(m["data"] for m in head + tail if m["type"] == "stdout") == "who? hi Ada\n"
        assert tail[-1]["verdict"] == "ok" and tail[-1]["run_id"] == run_id
        seen = await frames_until(theirs, "exit")
        assert [m["data"] for m in seen if m["type"] == "stdin"] == ["Ada\n"]

        # Stop: cancel over the same socket.
        await live.app.state.rooms.set_files(room, {"main.py": "print('spin', flush=True)\nwhile True:\n    pass\n"})
        await mine.send(json.dumps({"type": "run"}))
        spinning = await frames_until(mine, "stdout", "spin")
        spin_id = next(m for m in spinning if m["type"] == "accepted")["run_id"]
        await mine.send(json.dumps({"type": "cancel", "run_id": spin_id}))
        assert (await frames_until(mine, "exit"))[-1]["verdict"] == "cancelled"
