"""A scripted class against a running server: an instructor's class of 12 students, each working through the sample
course's exercises with a known history of edits, runs and checks (mistakes included), so the dashboard, the
gradebook and the check feedback have something real to show. Optionally takes the README's screenshots.

Everything goes through the public interfaces, as people would: students join with the class code, edit their
room's document over the collaboration WebSocket (y-websocket), press Run (``POST /api/runs``) and Check
(``POST /api/rooms/{id}/check``); the instructor makes the class and the rooms. Rerunnable: every run makes a new
class.

    make serve                                   # another terminal; or any running classroom
    .venv/bin/classroom admin create-instructor ada --name "Ms Lovelace" --password ...
    .venv/bin/python scripts/scripted_class.py --base http://127.0.0.1:8000 --instructor ada:PASSWORD \\
        [--screenshots docs/img]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from pycrdt import Doc, Map, Text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from collab import protocol

FUNCTIONS_OK = "def area(width, height):\n    return width * height\n\n\nprint(area(3, 4))\n"
FUNCTIONS_PARTIAL = "def area(width, height):\n    return width * height or 1\n\n\nprint(area(3, 4))\n"
FUNCTIONS_PRINTS = "def area(width, height):\n    print(width * height)\n\n\nprint(area(3, 4))\n"
FUNCTIONS_NAME = "def area(width, height):\n    return widht * height\n\n\nprint(area(3, 4))\n"
FUNCTIONS_COLON = "def area(width, height)\n    return width * height\n\n\nprint(area(3, 4))\n"
LISTS_OK = (
    "def total_even(numbers):\n    return sum(n for n in numbers if n % 2 == 0)\n\n\n"
    "print(total_even([1, 2, 3, 4, 10]))\n"
)
LISTS_TYPE = 'def total_even(numbers):\n    total = 0\n    for n in numbers:\n        if n % 2 == 0:\n            total = total + str(n)\n    return total\n\n\nprint("sum: " + total_even([2, 4]))\n'  # noqa: E501
LISTS_COLON = "def total_even(numbers):\n    total = 0\n    for n in numbers\n        total += n\n    return total\n"
PROMPT_OK = """TEMPLATE = "You are a helpful {role}.\\nAnswer in {language}.\\nQuestion: {question}"


def build_prompt(role, language, question):
    return TEMPLATE.format(role=role, language=language, question=question.strip())


def build_few_shot(examples, question):
    parts = [f"Q: {q}\\nA: {a}" for q, a in examples]
    parts.append(f"Q: {question}\\nA:")
    return "\\n\\n".join(parts)


print(build_prompt("tutor", "French", "  What is a loop?  "))
"""
PROMPT_NOSTRIP = PROMPT_OK.replace("question=question.strip()", "question=question")

# (name, lesson, [(code, action)]) — action "run" or "check"; the students act in rounds, one step each.
CLASS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Ada", "functions", [(FUNCTIONS_PARTIAL, "check"), (FUNCTIONS_OK, "check")]),
    (
        "Grace",
        "functions",
        [
            (FUNCTIONS_OK.replace("return width * height", "print('hi')"), "run"),
            (FUNCTIONS_NAME, "run"),
            (FUNCTIONS_NAME, "run"),
            (FUNCTIONS_NAME, "run"),
            (FUNCTIONS_NAME, "run"),
        ],
    ),
    ("Linus", "functions", [(FUNCTIONS_COLON, "run"), (FUNCTIONS_OK, "run"), (FUNCTIONS_OK, "check")]),
    ("Katherine", "functions", [(FUNCTIONS_COLON, "run"), (FUNCTIONS_COLON, "run"), (FUNCTIONS_COLON, "check")]),
    ("Alan", "functions", [(FUNCTIONS_PRINTS, "check"), (FUNCTIONS_PARTIAL, "check")]),
    ("Barbara", "lists-and-loops", [(LISTS_TYPE, "run"), (LISTS_TYPE, "run"), (LISTS_OK, "check")]),
    ("Edsger", "lists-and-loops", [(LISTS_COLON, "run"), (LISTS_COLON, "run"), (LISTS_COLON, "run")]),
    ("Margaret", "lists-and-loops", [(LISTS_OK, "run"), (LISTS_OK, "check")]),
    ("Dennis", "prompt-construction", [(PROMPT_NOSTRIP, "check"), (PROMPT_OK, "check")]),
    ("Frances", "prompt-construction", [(PROMPT_NOSTRIP, "run"), (PROMPT_NOSTRIP, "check")]),
    ("Tim", "functions", [(FUNCTIONS_NAME, "run"), (FUNCTIONS_COLON, "run"), (FUNCTIONS_NAME, "run")]),
    ("Radia", "functions", []),  # joined, has not started
]


class Person:
    """One signed-in person's HTTP session (cookie + CSRF header)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.AsyncClient(base_url=base, timeout=60, headers={"Origin": base})

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"X-CSRF-Token": self.http.cookies.get("classroom_csrf") or ""}
        response = await self.http.request(method, path, json=body, headers=headers)
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    async def ws_token(self) -> str:
        return str((await self.call("POST", "/api/tokens", {}))["token"])


@dataclass
class Student:
    name: str
    lesson: str
    steps: list[tuple[str, str]]
    person: Person
    user_id: str = ""
    room: str = ""
    results: list[str] = field(default_factory=list)


async def write_main(student: Student, code: str) -> None:
    """Replace main.py in the student's room over the collaboration WebSocket, as their editor would."""
    base = student.person.base.replace("http", "ws", 1)
    url = f"{base}/collab/{student.room}?token={await student.person.ws_token()}"
    async with websockets.connect(url, max_size=None, origin=student.person.base) as ws:  # type: ignore[arg-type]
        doc: Doc[Any] = Doc()
        await ws.send(protocol.sync_message(protocol.SYNC_STEP1, doc.get_state()))
        while True:  # until the server's state (its step 2) is in
            message = protocol.decode(await ws.recv())  # type: ignore[arg-type]
            if isinstance(message, protocol.Sync):
                reply = protocol.handle_sync_message(message, doc)
                if reply is not None:
                    await ws.send(reply)
                if message.step == protocol.SYNC_STEP2:
                    break
        before = doc.get_state()
        files = doc.get("files", type=Map)
        text = files.get("main.py")
        with doc.transaction():
            if isinstance(text, Text):
                del text[0 : len(text)]
                text += code
            else:
                files["main.py"] = Text(code)
        await ws.send(protocol.update_message(doc.get_update(before)))
        await asyncio.sleep(0.3)  # let the server apply it before the socket closes


async def act(student: Student, code: str, action: str) -> None:
    await write_main(student, code)
    person = student.person
    if action == "run":
        accepted = await person.call("POST", "/api/runs", {"room_id": student.room})
    else:
        accepted = await person.call("POST", f"/api/rooms/{student.room}/check", {})
    run_id = accepted["id"]
    for _ in range(600):
        run = await person.call("GET", f"/api/runs/{run_id}")
        if run["status"] == "finished":
            score = f" {round((run['score'] or 0) * 100)}%" if action == "check" else ""
            student.results.append(f"{action}:{run['verdict']}{score}")
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"{student.name}'s {action} did not finish")


async def make_class(base: str, instructor: tuple[str, str]) -> tuple[Person, str, list[Student]]:
    teacher = Person(base)
    await teacher.call("POST", "/api/login", {"username": instructor[0], "password": instructor[1]})
    made = await teacher.call("POST", "/api/classes", {"name": f"Year 9 Python {time.strftime('%H:%M')}"})
    class_id = str(made["id"])
    info = made if "join_code" in made else await teacher.call("GET", f"/api/classes/{class_id}")
    students = []
    for name, lesson, steps in CLASS:
        person = Person(base)
        await person.call("POST", "/api/join", {"join_code": info["join_code"], "name": name})
        me = await person.call("GET", "/api/me")
        student = Student(name, lesson, steps, person, user_id=str(me["user"]["id"]))
        room = await teacher.call(
            "POST",
            f"/api/classes/{class_id}/rooms",
            {
                "name": f"{name} · {lesson}",
                "kind": "personal",
                "members": [student.user_id],
                "lesson": f"sample/{lesson}",
            },
        )
        student.room = str(room["id"])
        students.append(student)
    return teacher, class_id, students


async def play(students: list[Student], pause: float) -> None:
    """Rounds: in each, every student with a step left takes it (a few at a time, as a class would)."""
    rounds = max(len(s.steps) for s in students)
    for r in range(rounds):
        active = [s for s in students if r < len(s.steps)]
        for batch in range(0, len(active), 4):
            await asyncio.gather(*(act(s, *s.steps[r]) for s in active[batch : batch + 4]))
        print(f"round {r + 1}/{rounds}: " + ", ".join(f"{s.name} {s.results[-1]}" for s in active), flush=True)
        await asyncio.sleep(pause)


def screenshots(base: str, out: Path, class_id: str, instructor: tuple[str, str], student: Student) -> None:
    """The README's pictures: a student's check feedback, the gradebook and the dashboard."""
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"], headless=True)
        # the main area scrolls inside the page: a tall window shows all of it
        teacher = browser.new_context(base_url=base, viewport={"width": 1440, "height": 1900}).new_page()
        teacher.goto("/login")
        teacher.get_by_label("Username").fill(instructor[0])
        teacher.get_by_label("Password").fill(instructor[1])
        teacher.get_by_role("button", name="Sign in").click()
        teacher.wait_for_url(re.compile(r"/(classes/[^/]+)?$"), timeout=20_000)
        teacher.goto(f"/classes/{class_id}/dashboard")
        expect(teacher.locator("#clusters li").first).to_be_visible(timeout=30_000)
        teacher.wait_for_timeout(500)
        teacher.screenshot(path=str(out / "dashboard.png"), full_page=True)
        teacher.set_viewport_size({"width": 1440, "height": 960})
        teacher.goto(f"/classes/{class_id}/gradebook")
        expect(teacher.locator("#gradebook")).to_be_visible()
        teacher.screenshot(path=str(out / "gradebook.png"), full_page=True)

        context = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
        context.add_cookies(
            [{"name": c.name, "value": c.value or "", "url": base} for c in student.person.http.cookies.jar]
        )
        page = context.new_page()
        page.goto(f"/rooms/{student.room}")
        page.get_by_role("button", name="✓ Check", exact=True).click()
        expect(page.locator("#check-summary")).to_be_visible(timeout=60_000)
        expect(page.locator("#hints")).to_be_visible(timeout=10_000)
        page.mouse.move(0, 0)
        page.screenshot(path=str(out / "check.png"))
        browser.close()
    print(f"screenshots in {out}: check.png, gradebook.png, dashboard.png")


async def main(args: argparse.Namespace) -> tuple[str, list[Student]]:
    user, _, password = args.instructor.partition(":")
    _, class_id, students = await make_class(args.base, (user, password))
    print(f"class {class_id}: {len(students)} students joined", flush=True)
    await play(students, args.pause)
    print(f"dashboard: {args.base}/classes/{class_id}/dashboard\ngradebook: {args.base}/classes/{class_id}/gradebook")
    return class_id, students


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="the server's base URL")
    parser.add_argument("--instructor", required=True, help="USER:PASSWORD of an instructor account")
    parser.add_argument("--pause", type=float, default=20.0, help="seconds between rounds (spread over minutes)")
    parser.add_argument("--screenshots", type=Path, help="write check.png, gradebook.png, dashboard.png here")
    args = parser.parse_args()
    class_id, students = asyncio.run(main(args))
    if args.screenshots:
        user, _, password = args.instructor.partition(":")
        alan = next(s for s in students if s.name == "Alan")  # two failed checks: the first hint is showing
        screenshots(args.base, args.screenshots, class_id, (user, password), alan)
