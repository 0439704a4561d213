"""The instructor console in a real browser against a real ``classroom serve``: a class run from the pages alone
(create, join, pair everyone, the live grid, a raised hand answered, pair -> demo without reload, a removal), and
follow-me moving two students' pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browsing import Server, editor_text, join, open_room, sign_in, type_code
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def create_class(teacher: Any, name: str) -> tuple[str, str]:
    """On the instructor home: create a class; returns (class id, join code) from its management page."""
    teacher.goto("/")
    teacher.get_by_label("Class name").fill(name)
    teacher.get_by_role("button", name="Create class").click()
    teacher.wait_for_url(re.compile(r"/classes/[^/]+$"))
    code = teacher.locator("#join-code")
    expect(code).to_have_text(re.compile(r"^[A-Z0-9]{8}$"))
    return teacher.url.rsplit("/", 1)[1], str(code.text_content())


def test_a_lesson_run_from_the_console(new_page: Any, server: Server) -> None:
    teacher = new_page("teacher", width=1280)
    sign_in(teacher, *server.instructor)
    class_id, code = create_class(teacher, "Year 9 Python")

    names = ["Ada", "Grace", "Linus"]
    students = {name: new_page(name.lower(), width=375, height=800) for name in names}
    for name, page in students.items():
        join(page, code, name)
    expect(teacher.locator("#student-count")).to_contain_text("3 students")

    # One action pairs everyone: three students make one group of three, on a lesson's starter code.
    teacher.locator(".tool", has_text="Pair everyone").locator("select").select_option(label="Lists and loops")
    teacher.get_by_role("button", name="Pair everyone").click()
    for page in students.values():  # the new room appears on each student's class page without a reload
        expect(page.locator("#my-rooms a", has_text="Ada & Grace & Linus")).to_be_visible()
    room_link = students["Ada"].locator("#my-rooms a", has_text="Ada & Grace & Linus")
    room_id = str(room_link.get_attribute("href")).rsplit("/", 1)[1]
    for page in students.values():
        open_room(page, room_id)

    # The live grid: one tile per student, each showing what is typed, live.
    teacher.goto(f"/classes/{class_id}/grid")
    expect(teacher.locator(".tile")).to_have_count(3)
    for name, page in students.items():
        type_code(page, f"\nprint('{name} was here')\n")
    for name in names:
        expect(teacher.locator(f".tile[data-room='{room_id}']").first).to_contain_text(f"print('{name} was here')",
                                                                                      timeout=15_000)
    # A hand with a message, at Grace's cursor line.
    grace = students["Grace"]
    grace.locator(".cm-content").click()
    grace.keyboard.press("Control+Home")
    grace.keyboard.press("ArrowDown")
    grace.keyboard.press("ArrowDown")
    grace.get_by_role("button", name="Raise hand").click()
    grace.get_by_label("Message for your teacher").fill("Why does my loop print nothing?")
    grace.get_by_role("button", name="Raise hand", exact=True).click()
    # The class's session shard was started when the first page of the class connected (ahead of this first hand);
    # the wait allows for a loaded machine all the same.
    expect(grace.locator("#hand-up")).to_be_visible(timeout=15_000)
    queue = teacher.locator("#hand-queue")
    expect(queue).to_contain_text("Why does my loop print nothing?")
    expect(queue).to_contain_text("Grace")
    expect(teacher.locator(".tile", has_text="Grace").locator(".hand-badge")).to_be_visible()
    queue.get_by_role("link", name=re.compile(r"Go to main\.py:3")).click()
    teacher.wait_for_url(re.compile(rf"/rooms/{room_id}\?.*line=3"))
    teacher.locator(".cm-content").wait_for()
    expect(teacher.locator(".cm-activeLineGutter")).to_have_text("3")  # the cursor is on Grace's line
    teacher.go_back()
    teacher.locator("#hand-queue").get_by_role("button", name="Resolve").click()
    expect(grace.locator("#hand-resolved")).to_be_visible()
    expect(teacher.locator("#hand-queue")).to_contain_text("No hands up")

    # Pair -> demo: the open student editors turn read-only without a reload.
    teacher.goto(f"/classes/{class_id}")
    teacher.locator(f"tr[data-room='{room_id}']").get_by_role("button", name="Make demo").click()
    ada = students["Ada"]
    expect(ada.locator("#readonly-note")).to_be_visible(timeout=5_000)
    expect(ada.locator(".cm-content")).to_have_attribute("contenteditable", "false")
    before = editor_text(ada)
    ada.locator(".cm-content").click()
    ada.keyboard.insert_text("sneaky edit")
    assert editor_text(ada) == before

    # Removing Linus sends his page out of the class.
    remove = teacher.get_by_role("button", name="Remove Linus from the class")
    remove.click()
    expect(remove).to_have_text("Remove Linus?")  # asks once more: a removal cannot be undone from the page
    remove.click()
    linus = students["Linus"]
    linus.wait_for_url(re.compile(r"/$"), timeout=10_000)
    expect(linus.locator(".banner")).to_contain_text("no longer")
    expect(teacher.locator("#student-count")).to_contain_text("2 students")


def test_follow_me_moves_two_students_and_lets_them_go_back(
    new_page: Any, server: Server, make_class: Any, teacher: Any
) -> None:
    klass = make_class("Follow me")
    demo = klass.room("Live demo", "demo")
    ada, grace = new_page("ada"), new_page("grace")
    join(ada, klass.join_code, "Ada")
    join(grace, klass.join_code, "Grace")
    home = f"/classes/{klass.id}"
    for page in (ada, grace):
        expect(page.locator("#my-rooms")).to_contain_text("Live demo")

    instructor = new_page("instructor")
    sign_in(instructor, *server.instructor)
    open_room(instructor, demo)
    instructor.locator("#follow-me").click()
    expect(instructor.locator("#follow-me")).to_have_attribute("aria-pressed", "true")
    for page in (ada, grace):
        page.wait_for_url(re.compile(rf"/rooms/{demo}\?follow=1"), timeout=10_000)
        expect(page.locator("#following")).to_be_visible()
    type_code(instructor, "\nprint('watch this')\n")
    for page in (ada, grace):
        expect(page.locator(".cm-content")).to_contain_text("print('watch this')")
        expect(page.locator(".cm-ySelectionInfo", has_text="Ms Lovelace")).to_be_visible()
    # "Watch me": the instructor runs the demo and the followers see its output in their own console.
    instructor.get_by_role("button", name="Run").click()
    for page in (ada, grace):
        expect(page.locator("#console-owner")).to_have_text("Ms Lovelace's run", timeout=60_000)
        expect(page.locator("#console")).to_contain_text("watch this", timeout=60_000)

    # Grace steps out (back to her class page) and can step back in.
    grace.get_by_role("button", name="Stop following").click()
    grace.wait_for_url(re.compile(rf"{home}$"))
    grace.get_by_role("button", name="Follow").click()
    grace.wait_for_url(re.compile(rf"/rooms/{demo}\?follow=1"))

    # Ending follow-me returns each student to where they were.
    instructor.locator("#follow-me").click()
    for page in (ada, grace):
        page.wait_for_url(re.compile(rf"{home}$"), timeout=10_000)


def test_every_instructor_page_reaches_the_others_from_one_navigation(
    new_page: Any, server: Server, make_class: Any, teacher: Any
) -> None:
    """Manage, live grid, dashboard and gradebook each show the same four links (the current one marked) and the
    class's shared rooms; a student's personal room is not listed. A room page opened by the instructor has them too."""
    klass = make_class("Navigation")
    demo = klass.room("Live demo", "demo")
    join(new_page("ada"), klass.join_code, "Ada")  # she gets a personal room, which the staff list leaves out
    page = new_page("instructor", width=1280)
    sign_in(page, *server.instructor)
    pages = {"Manage": "", "Live grid": "/grid", "Dashboard": "/dashboard", "Gradebook": "/gradebook"}
    for current, path in pages.items():
        page.goto(f"/classes/{klass.id}{path}")
        teaching = page.get_by_role("list", name="Teaching")
        expect(teaching.get_by_role("link")).to_have_text(list(pages))
        expect(teaching.locator("a[aria-current=page]")).to_have_text(current)
        rooms = page.get_by_role("list", name="Rooms")
        expect(rooms.get_by_role("link")).to_have_count(1)
        expect(rooms.get_by_role("link")).to_contain_text("Live demo")
        if current == "Manage":  # the roster row's cells line up (the actions cell stays a table cell)
            cells = page.locator("tr[data-user] td")
            expect(cells).to_have_count(3)
            assert cells.evaluate_all("cs => cs.map((c) => getComputedStyle(c).display)") == ["table-cell"] * 3
    page.get_by_role("list", name="Teaching").get_by_role("link", name="Live grid").click()
    page.wait_for_url(re.compile(rf"/classes/{klass.id}/grid$"))
    open_room(page, demo)
    expect(page.get_by_role("list", name="Teaching").get_by_role("link")).to_have_text(list(pages))
    expect(page.get_by_role("list", name="Rooms").locator("a[aria-current=page]")).to_contain_text("Live demo")
