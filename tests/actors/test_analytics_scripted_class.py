"""Analytics fed a scripted class (students with known histories, and their instructor) on the real store: exactly
the expected clusters, stuck students with their reasons, per-exercise figures; the instructor never counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from piccolo.engine.base import Engine
from session_helpers import enroll, make_room, make_run, make_user

from actors.analytics_actor import Analytics
from classroom.stores import PiccoloAnalyticsStore
from classroom.tables import Class

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=20)
FUNCTIONS, HELLO = "sample/functions", "sample/hello"
NAME_ERROR = ("NameError", "name 'total' is not defined", 2)
COLON = ("SyntaxError", "expected ':'", 1)


class Script:
    """Outcome dicts for one class, as the dispatcher sends them."""

    def __init__(self, class_id: str, rooms: dict[str, str]) -> None:
        self.class_id, self.rooms, self.batch = class_id, rooms, []  # type: list[dict[str, Any]]

    async def add(self, user: str, minute: float, exercise: str, *, error: tuple[str, str, int] | None = None,
                  check: float | None = None) -> None:
        self.batch.append({
            "run_id": await make_run(user, self.class_id),
            "user_id": user,
            "class_id": self.class_id,
            "room_id": self.rooms[user],
            "exercise": exercise,
            "kind": "run" if check is None else "grade",
            "graded": True,  # both sample exercises have hidden tests
            "score": check,
            "verdict": "runtime_error" if error else "ok",
            "error_type": error[0] if error else None,
            "error_message": error[1] if error else None,
            "error_line": error[2] if error else None,
            "wall_ms": 30,
            "finished_at": (T0 + timedelta(minutes=minute)).isoformat(),
        })


@pytest.fixture
async def scripted(database: Engine[Any]) -> tuple[dict[str, str], str, Script]:
    teacher = await make_user("Ms Lovelace", "instructor")
    klass = Class(id=uuid.uuid4(), name="Y9", owner=uuid.UUID(teacher), join_code=uuid.uuid4().hex[:8],
                  created_at=T0)
    await klass.save().run()
    cid = str(klass.id)
    names = ("Ada", "Grace", "Linus", "Katherine", "Alan", "Barbara", "Edsger")  # Edsger has not started
    people = {name: await make_user(name) for name in names}
    for uid in people.values():
        await enroll(cid, uid)
    await enroll(cid, teacher, role="instructor")
    people["teacher"] = teacher
    rooms = {uid: await make_room(cid, teacher, f"{name}'s room", "personal", (uid,)) for name, uid in people.items()}
    s = Script(cid, rooms)
    p = people
    await s.add(p["Ada"], 0, FUNCTIONS, check=0.7)  # a partial check, then a full one: solved in 2
    await s.add(p["Ada"], 2, FUNCTIONS, check=1.0)
    await s.add(p["Grace"], 1, FUNCTIONS)  # one early print('hi') that ran, then four NameErrors: stuck
    for minute in (2, 3, 4, 5):
        await s.add(p["Grace"], minute, FUNCTIONS, error=NAME_ERROR)
    await s.add(p["Linus"], 3, FUNCTIONS, error=COLON)  # fixed the colon, ran, checked: solved in 3
    await s.add(p["Linus"], 4, FUNCTIONS)
    await s.add(p["Linus"], 6, FUNCTIONS, check=1.0)
    await s.add(p["Katherine"], 10, FUNCTIONS, error=COLON)  # then silence for 10 minutes: stuck
    await s.add(p["Alan"], 18, FUNCTIONS, check=0.0)  # two failed checks, just now: not (yet) stuck
    await s.add(p["Alan"], 19, FUNCTIONS, check=0.7)
    await s.add(p["Barbara"], 5, HELLO, check=1.0)  # solved hello at once, now on functions
    await s.add(p["Barbara"], 19, FUNCTIONS, error=NAME_ERROR)
    for minute in (7, 8, 9, 10, 11):  # the instructor tries the exercise in front of the class: never counted
        await s.add(p["teacher"], minute, FUNCTIONS, error=NAME_ERROR)
    return people, cid, s


async def test_the_scripted_class(scripted: tuple[dict[str, str], str, Script]) -> None:
    people, cid, script = scripted
    analytics = Analytics(PiccoloAnalyticsStore(), clock=lambda: NOW)
    answer = await analytics.record_outcomes(script.batch)
    assert answer == {"accepted": len(script.batch), "duplicates": 0, "rejected": []}
    snap = await analytics.snapshot(cid)
    p, room = people, script.rooms

    assert snap["totals"] == {"runs": 15, "failures": 10, "students": 6}
    clusters = [(c["exercise"], c["key"], c["count"], [x["name"] for x in c["people"]]) for c in snap["clusters"]]
    assert clusters == [
        (FUNCTIONS, "NameError: name <name> is not defined @ 2", 5, ["Barbara", "Grace"]),
        (FUNCTIONS, "SyntaxError: expected ':' @ 1", 2, ["Katherine", "Linus"]),
    ]
    colon = snap["clusters"][1]
    assert colon["people"][0] == {"user_id": p["Katherine"], "name": "Katherine", "room_id": room[p["Katherine"]]}
    assert snap["timeline"]["start"] == T0.isoformat() and snap["timeline"]["minutes"] == 21
    assert sum(snap["timeline"]["runs"]) == 15
    assert colon["sparkline"][3] == 1 and colon["sparkline"][10] == 1 and sum(colon["sparkline"]) == 2

    stuck = [(s["name"], s["exercise"], s["reason"], s["room_id"]) for s in snap["stuck"]]
    assert stuck == [
        ("Grace", FUNCTIONS, "4 failing runs or checks in a row", room[p["Grace"]]),
        ("Katherine", FUNCTIONS, "no run or check for 10 minutes, not solved", room[p["Katherine"]]),
    ]
    assert snap["stuck"][0]["last_error"] == "NameError: name <name> is not defined @ 2"

    by_exercise = {e["exercise"]: e for e in snap["exercises"]}
    functions, hello = by_exercise[FUNCTIONS], by_exercise[HELLO]
    assert {k: functions[k] for k in ("runs", "failures", "checks", "students", "solved", "stuck")} == {
        "runs": 14, "failures": 10, "checks": 5, "students": 6, "solved": 2, "stuck": 2
    }
    assert functions["attempts_to_solve"] == [{"attempts": 2, "students": 1}, {"attempts": 3, "students": 1}]
    assert functions["median_attempts_to_solve"] == 2.5
    assert (hello["students"], hello["solved"], hello["attempts_to_solve"]) == (1, 1, [{"attempts": 1, "students": 1}])
    assert p["teacher"] not in str(snap) and "Ms Lovelace" not in str(snap)

    # a restarted actor (reloaded from the rows) gives the same snapshot
    again = await Analytics(PiccoloAnalyticsStore(), clock=lambda: NOW).snapshot(cid)
    assert again == snap
