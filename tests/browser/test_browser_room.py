"""A room in a real browser: two students editing together, running a program that reads input, Stop, offline
edits that merge on reconnect, a read-only demo room and another class's room that stays closed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browsing import (
    ARTIFACTS,
    Server,
    editor_text,
    expect_editor_text,
    join,
    open_room,
    replace_code,
    sign_in,
    type_code,
)
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def pair(make_class: Any, new_page: Any) -> tuple[Any, Any, str]:
    """Ada and Grace joined one class through the join page and share a pair room."""
    klass = make_class("Year 9 Python")
    ada, grace = new_page("ada"), new_page("grace")
    ada_id = join(ada, klass.join_code, "Ada")
    grace_id = join(grace, klass.join_code, "Grace")
    room = klass.room("Pair 1", "pair", [ada_id, grace_id], lesson="sample/lists-and-loops")
    open_room(ada, room)
    open_room(grace, room)
    return ada, grace, room


def test_two_students_see_each_others_text_and_named_cursor(
    pair: tuple[Any, Any, str], new_page: Any, server: Server
) -> None:
    ada, grace, room = pair
    # The room opens on the lesson's starter code, for both of them.
    expect_editor_text(ada, "def total_even(numbers):")
    expect_editor_text(grace, "def total_even(numbers):")
    replace_code(ada, "scores = [3, 7, 2, 8]\n")
    expect_editor_text(grace, "scores = [3, 7, 2, 8]")
    type_code(grace, "for score in scores:\n    if score % 2 == 0:\n        print(score)\n")
    expect_editor_text(ada, "        print(score)")
    expect_editor_text(grace, "scores = [3, 7, 2, 8]")
    expect(ada.locator(".cm-ySelectionInfo", has_text="Grace")).to_be_visible()
    expect(grace.locator(".cm-ySelectionInfo", has_text="Ada")).to_be_visible()
    expect(ada.locator(".room-head .people")).to_contain_text("Grace")
    expect(ada.locator(".lesson")).to_contain_text("Lists and loops")
    assert editor_text(ada) == editor_text(grace)

    # The picture in the README: the instructor looking in, with both students' cursors and a selection.
    ada.keyboard.press("Control+Home")
    ada.keyboard.press("End")
    grace.keyboard.press("ArrowUp")
    grace.keyboard.press("End")
    grace.keyboard.press("Shift+Home")
    teacher = new_page("teacher", width=1360, height=820)
    sign_in(teacher, *server.instructor)
    open_room(teacher, room)
    expect(teacher.locator(".cm-ySelectionInfo", has_text="Ada")).to_be_visible()
    expect(teacher.locator(".cm-ySelectionInfo", has_text="Grace")).to_be_visible()
    expect(teacher.locator(".cm-ySelection")).not_to_have_count(0)
    teacher.get_by_role("button", name="Run").click()
    expect(teacher.locator("#run-status")).to_contain_text("Finished", timeout=60_000)
    expect(teacher.locator("#console")).to_have_text("2\n8\n")
    teacher.mouse.move(0, 0)
    ARTIFACTS.mkdir(exist_ok=True)
    teacher.screenshot(path=str(ARTIFACTS / "room.png"))


def test_run_reads_input_from_the_console_and_stop_ends_a_loop(pair: tuple[Any, Any, str]) -> None:
    ada, grace, _room = pair
    replace_code(ada, 'name = input("Your name? ")\nprint("Hello, " + name + "!")\n')
    expect_editor_text(grace, "Hello, ")
    ada.get_by_role("button", name="Run").click()
    expect(ada.locator("#stdin")).to_be_enabled(timeout=60_000)
    expect(ada.locator("#console")).to_contain_text("Your name?", timeout=60_000)
    ada.locator("#stdin").fill("Grace Hopper")
    ada.locator("#stdin").press("Enter")
    expect(ada.locator("#console .con-in")).to_contain_text("Grace Hopper")
    expect(ada.locator("#console .con-out").last).to_contain_text("Hello, Grace Hopper!", timeout=30_000)
    expect(ada.locator("#run-status")).to_have_attribute("data-tone", "ok", timeout=30_000)
    expect(ada.locator("#run-status")).to_contain_text("Finished")
    expect(ada.locator("#runs li").first).to_contain_text("ok")

    replace_code(ada, "n = 0\nwhile True:\n    n += 1\n")
    expect_editor_text(grace, "while True:")
    ada.get_by_role("button", name="Run").click()
    expect(ada.locator("#run-status")).to_contain_text("Running", timeout=60_000)
    ada.get_by_role("button", name="Stop").click()
    expect(ada.locator("#run-status")).to_contain_text("Stopped", timeout=8_000)
    expect(ada.get_by_role("button", name="Run")).to_be_enabled()


def test_an_exception_is_explained_and_its_line_marked(pair: tuple[Any, Any, str]) -> None:
    ada, _grace, _room = pair
    replace_code(ada, "x = 1\ny = x / 0\nprint(y)\n")
    ada.get_by_role("button", name="Run").click()
    status = ada.locator("#run-status")
    expect(status).to_have_attribute("data-tone", "err", timeout=60_000)
    expect(status).to_contain_text("line 2")
    expect(status).to_contain_text("ZeroDivisionError")
    expect(ada.locator("#console .con-err")).to_contain_text("ZeroDivisionError")
    expect(ada.locator(".cm-errorLine")).to_have_text(re.compile(r"y = x / 0"))


def test_reload_keeps_code_and_offline_edits_merge_on_reconnect(pair: tuple[Any, Any, str]) -> None:
    ada, grace, room = pair
    type_code(ada, "kept = 'across a reload'\n")
    expect_editor_text(grace, "across a reload")
    ada.reload()
    open_room(ada, room)
    expect_editor_text(ada, "across a reload")

    ada.context.set_offline(True)
    expect(ada.locator("#conn")).to_have_attribute("data-state", "offline")
    type_code(ada, "offline_note = 'typed without a network'\n")
    type_code(grace, "online_note = 'typed meanwhile'\n")
    ada.wait_for_timeout(500)
    assert "typed without a network" not in editor_text(grace)
    ada.context.set_offline(False)
    expect(ada.locator("#conn")).to_have_attribute("data-state", "online", timeout=20_000)
    expect_editor_text(grace, "typed without a network")
    expect_editor_text(ada, "typed meanwhile")
    assert editor_text(ada) == editor_text(grace)


def test_student_cannot_type_in_a_demo_room(make_class: Any, new_page: Any, server: Server) -> None:
    klass = make_class()
    demo = klass.room("Demo", "demo")
    teacher = new_page("teacher")
    sign_in(teacher, *server.instructor)
    open_room(teacher, demo)
    replace_code(teacher, "print('watch me')\n")
    student = new_page("student")
    join(student, klass.join_code, "Linus")
    open_room(student, demo)
    expect_editor_text(student, "print('watch me')")
    expect(student.locator("#readonly-note")).to_be_visible()
    expect(student.locator(".cm-content")).to_have_attribute("aria-readonly", "true")
    student.locator(".cm-content").click()
    student.keyboard.type("import os")
    student.keyboard.press("Enter")
    student.wait_for_timeout(500)
    assert editor_text(student) == "print('watch me')\n"
    assert "import os" not in editor_text(teacher)


def test_student_cannot_open_another_classs_room(make_class: Any, new_page: Any) -> None:
    mine, theirs = make_class(), make_class()
    other = new_page("other")
    join(other, theirs.join_code, "Outsider")
    their_room = theirs.room(
        "Private pair",
        "pair",
        [
            other.context.request.get("/api/me").json()["user"]["id"],
            join(new_page("other2"), theirs.join_code, "Insider"),
        ],
    )
    student = new_page("student")
    join(student, mine.join_code, "Margaret")
    student.goto(f"/rooms/{their_room}")
    expect(student.get_by_role("alert")).to_contain_text("Cannot open this page")
    expect(student.locator(".cm-editor")).to_have_count(0)
    assert student.context.request.get(f"/api/rooms/{their_room}").status in (403, 404)


def test_a_second_file_shows_as_a_tab_for_the_partner_and_runs(pair: tuple[Any, Any, str]) -> None:
    ada, grace, _room = pair
    ada.get_by_role("button", name="New file").click()
    ada.get_by_label("New file name").fill("helpers.py")
    ada.get_by_label("New file name").press("Enter")
    expect(ada.get_by_role("tab", name="helpers.py")).to_have_attribute("aria-selected", "true")
    type_code(ada, "def double(x):\n    return 2 * x\n")
    grace.get_by_role("tab", name="helpers.py").click()
    expect_editor_text(grace, "return 2 * x")
    grace.get_by_role("tab", name="main.py").click()
    replace_code(grace, "from helpers import double\nprint(double(21))\n")
    expect(ada.get_by_role("tab", name="helpers.py")).to_have_attribute("aria-selected", "true")
    grace.get_by_role("button", name="Run").click()
    expect(grace.locator("#console")).to_have_text("42\n", timeout=60_000)


def own_room(page: Any) -> str:
    """The personal room a student gets on joining, opened from the class home."""
    page.get_by_role("link", name=re.compile("'s room")).first.click()
    page.wait_for_url(re.compile(r"/rooms/[^/]+$"))
    room = page.url.rsplit("/", 1)[1]
    open_room(page, room)
    return room


def test_ctrl_enter_runs_and_a_time_limit_is_explained(make_class: Any, new_page: Any) -> None:
    klass = make_class()
    page = new_page("student")
    join(page, klass.join_code, "Alan")
    own_room(page)
    replace_code(page, "while True:\n    pass\n")
    page.keyboard.press("Control+Enter")
    status = page.locator("#run-status")
    expect(status).to_contain_text("Running", timeout=60_000)
    expect(status).to_contain_text("Time limit", timeout=60_000)
    expect(status).to_contain_text(re.compile(r"ran longer than \d+ s"))
    expect(page.locator("#runs li").first).to_contain_text("time limit")


def test_phone_width_and_dark_theme(make_class: Any, new_page: Any) -> None:
    klass = make_class()
    page = new_page("phone", width=375, height=740)
    join(page, klass.join_code, "Katherine")
    own_room(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for control in ("Run", "Stop"):
        box = page.get_by_role("button", name=control).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    for width in (375, 768, 1000):  # one column below 1100 px: editor and console as wide as the room
        page.set_viewport_size({"width": width, "height": 740})
        room = page.locator(".room").bounding_box()
        assert room is not None
        for pane in (".workspace", ".output"):
            box = page.locator(pane).bounding_box()
            assert box is not None and box["width"] >= room["width"] - 2, (width, pane, box, room)
    page.set_viewport_size({"width": 375, "height": 740})
    toggle = page.locator("#theme-toggle")
    before = page.evaluate("getComputedStyle(document.body).backgroundColor")
    was_dark = toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false" if was_dark else "true")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != before
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "light" if was_dark else "dark")


def test_hostile_display_names_are_shown_as_plain_text(make_class: Any, new_page: Any) -> None:
    """Markup and bidi tricks in a name: the bidi override is gone at join, the markup shows as text on the class
    page, in the room's people list and on the cursor label, and no script runs."""
    klass = make_class("Names")
    hostile = "<b>Eve</b><img src=x onerror=window.__pwned=1>\u202egnp.exe\u200b"  # the page takes 60 characters
    shown = "<b>Eve</b><img src=x onerror=window.__pwned=1>gnp.exe"
    eve, bob = new_page("eve"), new_page("bob")
    eve_id = join(eve, klass.join_code, hostile)
    bob_id = join(bob, klass.join_code, "Bob")
    me = eve.context.request.get("/api/me").json()["user"]
    assert me["display_name"] == shown
    room = klass.room("Pair N", "pair", [eve_id, bob_id])
    open_room(eve, room)  # Eve is online now: Bob's class page lists her
    bob.reload()
    expect(bob.locator(".people")).to_contain_text(shown)
    open_room(bob, room)
    type_code(eve, "x = 1\n")
    expect(bob.locator(".room-head .people")).to_contain_text(shown)
    expect(bob.locator(".cm-ySelectionInfo", has_text="gnp.exe")).to_be_visible()
    for page in (eve, bob):
        assert page.locator("img[src='x'], main b, .cm-ySelectionInfo b").count() == 0
        assert page.evaluate("() => window.__pwned") is None


def test_run_goes_over_the_rooms_socket_with_input(pair: tuple[Any, Any, str]) -> None:
    """Issue 15: Run is one frame on the room's socket the page already holds; the output, the input() answer and
    the verdict travel on it too — no POST /api/runs, no new WebSocket. The partner's page follows the same run."""
    ada, grace, _room = pair
    requests: list[str] = []
    sockets: list[str] = []
    ada.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    ada.on("websocket", lambda ws: sockets.append(ws.url))
    replace_code(ada, 'print("ready")\nname = input("Who? ")\nprint("Hi " + name)\n')
    expect_editor_text(grace, "Hi ")
    ada.get_by_role("button", name="Run").click()
    expect(ada.locator("#console .con-out").first).to_contain_text("ready", timeout=60_000)
    expect(ada.locator("#console")).to_contain_text("Who?", timeout=30_000)
    expect(ada.locator("#stdin")).to_be_enabled()
    ada.locator("#stdin").fill("Grace")
    ada.locator("#stdin").press("Enter")
    expect(ada.locator("#console .con-out").last).to_contain_text("Hi Grace", timeout=30_000)
    expect(ada.locator("#run-status")).to_contain_text("Finished", timeout=30_000)
    expect(grace.locator("#console")).to_contain_text("Hi Grace", timeout=30_000)
    expect(grace.locator("#console .con-in")).to_contain_text("Grace")
    assert not [r for r in requests if "/api/runs" in r or "/api/tokens" in r], requests
    assert sockets == [], sockets
