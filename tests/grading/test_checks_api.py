"""Checks end to end: a real server on port 0, real Ray, real sandboxes. A check grades the room's files (or the
state it is pinned to), streams like a run, reveals hints after failed checks and feeds the gradebook."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from runs_helpers import backend_or_skip, make_class, make_room, make_user
from sample_solutions import FUNCTIONS_OK

from classroom.app import create_app
from classroom.auth import tokens
from classroom.settings import Settings, load_settings
from classroom.tables import Room

pytestmark = [pytest.mark.anyio, pytest.mark.ray, pytest.mark.sandbox]

PARTIAL = "def area(width, height):\n    return width * height or 1\n"
WRONG = "def area(width, height):\n    print(width * height)\n"


class Live:
    def __init__(self, base: str, settings: Settings, app: Any) -> None:
        self.base, self.settings, self.app = base, settings, app
        self.http = httpx.AsyncClient(base_url=base, timeout=30)

    def bearer(self, user: str) -> dict[str, str]:
        jwt = tokens.issue_jwt(self.settings, uuid.UUID(user), tokens.API_AUDIENCE, 600)
        return {"authorization": f"Bearer {jwt}"}

    async def check(self, user: str, room: str, **body: Any) -> dict[str, Any]:
        response = await self.http.post(f"/api/rooms/{room}/check", json=body, headers=self.bearer(user))
        assert response.status_code == 202, response.text
        run_id = response.json()["id"]
        jwt = tokens.issue_jwt(self.settings, uuid.UUID(user), tokens.WS_AUDIENCE, 600)
        async with websockets.connect(f"{self.base.replace('http', 'ws')}/api/runs/{run_id}/stream?token={jwt}") as ws:
            messages = [json.loads(raw) async for raw in ws]
        assert messages[-1]["type"] == "exit", messages
        return {**messages[-1], "id": run_id}

    async def get(self, user: str, path: str) -> Any:
        response = await self.http.get(path, headers=self.bearer(user))
        assert response.status_code == 200, response.text
        return response.json() if "json" in response.headers["content-type"] else response.text


@pytest.fixture(scope="module")
async def live(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    await backend_or_skip()
    from actors import cluster

    tmp_path = tmp_path_factory.mktemp("checks-api")
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
        for _ in range(200):
            if app.state.runs.dispatcher.fleet.ready():
                break
            await asyncio.sleep(0.1)
        yield live
        await live.http.aclose()
        server.should_exit = True
        await task


@pytest.fixture(autouse=True)
def _bound(live: Live) -> None:
    from classroom import db

    db.bind(live.app.state.database.engine)


async def _lesson_room(lesson: str | None = "sample/functions") -> tuple[str, str, str, str]:
    teacher = await make_user("Ms Lovelace", role="instructor")
    klass = await make_class(teacher)
    student = await make_user("Grace")
    room = await make_room(klass, teacher, members=(student,))
    await Room.update({Room.lesson: lesson}).where(Room.id == uuid.UUID(room)).run()
    return teacher, klass, student, room


async def test_check_grades_streams_reveals_hints_and_fills_the_gradebook(live: Live) -> None:
    teacher, klass, student, room = await _lesson_room()
    rooms = live.app.state.rooms
    await rooms.set_files(room, {"main.py": PARTIAL}, replace=True)
    first = await live.check(student, room)
    assert first["verdict"] == "ok" and first["fraction"] == pytest.approx(0.7)
    tests = {t["name"]: t for t in first["grade"]["tests"]}
    assert tests["area(0, 5) is 0"] == {
        "name": "area(0, 5) is 0",
        "passed": False,
        "message": "area(0, 5): expected 0, got 1",
        "points": 3.0,
    }
    state = await live.get(student, f"/api/rooms/{room}/checks")
    assert (state["best_score"], state["attempts"], state["failed"], state["hints"]) == (7.0, 1, 1, [])
    assert state["next_hint_in"] == 1 and state["checks"][0]["user_name"] == "Grace"

    await rooms.set_files(room, {"main.py": WRONG}, replace=True)
    second = await live.check(student, room)
    assert second["fraction"] == 0.0
    assert "a function hands its answer back with `return`" in second["grade"]["tests"][0]["message"]
    state = await live.get(student, f"/api/rooms/{room}/checks")
    assert state["failed"] == 2 and state["hints"] == ["A function hands its answer back with `return`."]

    # pinned: a check of the state the student saw grades that state, not the edit that arrived since
    seen = await rooms.state_vector(room)
    await rooms.set_files(room, {"main.py": FUNCTIONS_OK}, replace=True)
    pinned = await live.check(student, room, state_vector=base64.b64encode(seen).decode())
    assert pinned["fraction"] == 0.0
    now = await live.check(student, room)
    assert now["fraction"] == 1.0 and all(t["passed"] for t in now["grade"]["tests"])
    run = await live.get(student, f"/api/runs/{now['id']}")  # read back from the row, as a reload would
    assert (run["kind"], run["exercise"], run["score"]) == ("grade", "sample/functions", 1.0)
    assert [t["passed"] for t in run["grade"]["tests"]] == [True, True, True]

    book = await live.get(teacher, f"/api/classes/{klass}/gradebook")
    assert [s["name"] for s in book["students"]] == ["Grace"]  # the instructor is never a student
    cell = next(c for c in book["students"][0]["cells"] if c["exercise"] == "sample/functions")
    assert (cell["best"], cell["attempts"]) == (10.0, 4) and cell["first_pass_at"]
    rows = list(csv.reader(io.StringIO(await live.get(teacher, f"/api/classes/{klass}/gradebook.csv"))))
    header, grace = rows
    assert len(rows) == 2 and grace[0] == "Grace"
    at = header.index("sample/functions best (of 10)")
    assert grace[at : at + 2] == ["10.0", "4"] and grace[at + 2].startswith("20")
    mine = await live.get(student, f"/api/classes/{klass}/grades/me")
    assert mine["students"][0]["id"] == student and mine["students"][0]["total"] == 10.0


async def test_check_refusals(live: Live) -> None:
    _, _, student, room = await _lesson_room(lesson=None)
    response = await live.http.post(f"/api/rooms/{room}/check", json={}, headers=live.bearer(student))
    assert response.status_code == 409 and "not opened on a lesson" in response.json()["detail"]
    _, _, student, room = await _lesson_room()
    for body, problem in (({"state_vector": "!!"}, "not base64"), ({"nope": 1}, "nope")):
        response = await live.http.post(f"/api/rooms/{room}/check", json=body, headers=live.bearer(student))
        assert response.status_code == 400 and problem in response.text, response.text
