"""Live demos and pair work in real browsers (issue 12): the instructor's demo run on students' consoles, forking
the demo and running the fork, a partner's run streaming live with its input echoed, recent runs opening their
code, coming back on a second device with the return link, a taken name that asks instead of duplicating, and
the room page's layout at 375 px and 1280 px. The README's screenshots of a demo room and a pair room's shared
console are taken here, from the real server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browsing import ROOT, Server, expect_editor_text, join, open_room, replace_code, sign_in, type_code
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]
IMG = ROOT / "docs" / "img"
RUN_TIMEOUT = 60_000


def me(page: Any) -> dict[str, Any]:
    return dict(page.context.request.get("/api/me").json())


def personal_room(page: Any, class_id: str) -> str:
    info = page.context.request.get(f"/api/classes/{class_id}").json()
    return str(next(r["id"] for r in info["rooms"] if r["kind"] == "personal"))


def test_demo_run_reaches_every_student_then_students_fork_and_run_it(
    make_class: Any, new_page: Any, server: Server
) -> None:
    klass = make_class("Year 10 Python")
    demo = klass.room("Live demo: loops", "demo", lesson="sample/lists-and-loops")
    teacher = new_page("teacher", width=1360, height=860)
    sign_in(teacher, *server.instructor)
    open_room(teacher, demo)
    ada, grace = new_page("ada"), new_page("grace")
    join(ada, klass.join_code, "Ada")
    join(grace, klass.join_code, "Grace")
    # Grace already has work in her own room: her fork must not overwrite it without asking.
    grace_room = personal_room(grace, klass.id)
    open_room(grace, grace_room)
    replace_code(grace, "mine = 'my own work'\nprint(mine)\n")
    open_room(ada, demo)
    open_room(grace, demo)

    replace_code(teacher, "squares = [n * n for n in range(1, 6)]\nfor s in squares:\n    print('square', s)\n")
    expect_editor_text(ada, "print('square', s)")
    teacher.get_by_role("button", name="Run").click()
    for student in (ada, grace):
        expect(student.locator("#console-owner")).to_have_text("Ms Lovelace's run", timeout=RUN_TIMEOUT)
        expect(student.locator("#console")).to_contain_text("square 25", timeout=RUN_TIMEOUT)
        expect(student.locator("#run-status")).to_contain_text("Finished", timeout=RUN_TIMEOUT)
        # Pushed, not polled: the finished run is in the list at once, with who ran it.
        expect(student.locator("#runs li").first).to_contain_text("ok")
        expect(student.locator("#runs li").first).to_contain_text("Ms Lovelace")
        expect(student.locator("#stdin")).to_be_disabled()
    expect(teacher.locator("#console-owner")).to_have_text("Your run")
    teacher.mouse.move(0, 0)
    IMG.mkdir(parents=True, exist_ok=True)
    ada.set_viewport_size({"width": 1360, "height": 860})
    ada.mouse.move(0, 0)
    ada.screenshot(path=str(IMG / "demo-room.png"))

    # Ada forks: her room's main.py is still empty, so it simply arrives and she lands there.
    ada.get_by_role("button", name="Fork to my room").click()
    ada.wait_for_url(re.compile(r"/rooms/(?!" + demo + r")[^/]+$"))
    ada_room = ada.url.rsplit("/", 1)[1]
    assert ada_room == personal_room(ada, klass.id)
    open_room(ada, ada_room)
    expect_editor_text(ada, "print('square', s)")
    type_code(ada, "print('sum', sum(squares))\n")
    ada.get_by_role("button", name="Run").click()
    expect(ada.locator("#console")).to_contain_text("sum 55", timeout=RUN_TIMEOUT)
    expect(ada.locator("#console-owner")).to_have_text("Your run")

    # Grace's main.py clashes: she is asked, keeps hers and gets the demo's as a new file.
    grace.get_by_role("button", name="Fork to my room").click()
    expect(grace.locator("dialog.fork-choice")).to_contain_text("main.py")
    grace.get_by_role("button", name="Keep mine, add the demo's as new files").click()
    grace.wait_for_url(re.compile(r"/rooms/" + grace_room + "$"))
    open_room(grace, grace_room)
    expect_editor_text(grace, "my own work")
    grace.get_by_role("tab", name="main_demo.py").click()
    expect_editor_text(grace, "print('square', s)")

    runs = teacher.context.request.get(f"/api/rooms/{demo}/runs").json()["runs"]
    assert [r["display_name"] for r in runs] == ["Ms Lovelace"]

    # "Fork for everyone": students watching the demo are offered their copy at once.
    open_room(grace, demo)
    teacher.get_by_role("button", name="Fork for everyone").click()
    expect(teacher.locator("#room-notice")).to_contain_text("Copied into 2 student rooms")
    expect(grace.get_by_role("link", name="Open my copy")).to_have_attribute("href", f"/rooms/{grace_room}")


def test_pair_partner_sees_the_run_live_with_its_input_and_opens_past_runs(make_class: Any, new_page: Any) -> None:
    klass = make_class()
    ada, grace = new_page("ada", width=1360, height=1100), new_page("grace", width=1360, height=1100)
    ada_id = join(ada, klass.join_code, "Ada")
    grace_id = join(grace, klass.join_code, "Grace")
    room = klass.room("Pair 3", "pair", [ada_id, grace_id], lesson="sample/functions")
    open_room(ada, room)
    open_room(grace, room)
    replace_code(ada, 'name = input("Your name? ")\nfor i in range(3):\n    print(f"Hello {name} #{i}")\n')
    expect_editor_text(grace, "Your name? ")
    ada.get_by_role("button", name="Run").click()
    # Grace sees the prompt live, before the program has ended, labelled with who started it.
    expect(grace.locator("#console")).to_contain_text("Your name?", timeout=RUN_TIMEOUT)
    expect(grace.locator("#console-owner")).to_have_text("Ada's run")
    expect(grace.locator("#run-status")).to_contain_text("Running")
    expect(grace.locator("#stdin")).to_be_disabled()
    expect(grace.locator("#stdin")).to_have_attribute("placeholder", "Only Ada can type here")
    expect(ada.locator("#stdin")).to_be_enabled()
    ada.locator("#stdin").fill("Grace and Ada")
    ada.locator("#stdin").press("Enter")
    expect(grace.locator("#console .con-in")).to_have_text("Grace and Ada\n")
    expect(grace.locator("#console")).to_contain_text("Hello Grace and Ada #2", timeout=RUN_TIMEOUT)
    expect(grace.locator("#run-status")).to_contain_text("Finished", timeout=RUN_TIMEOUT)
    expect(ada.locator("#console .con-in")).to_have_text("Grace and Ada\n")  # echoed once on Ada's page too
    expect(grace.locator("#runs li").first).to_contain_text("Ada")
    grace.mouse.move(0, 0)
    IMG.mkdir(parents=True, exist_ok=True)
    grace.screenshot(path=str(IMG / "pair-console.png"))

    # Grace runs next; Ada's console follows hers. Ada then opens her own earlier run: its output and its code.
    replace_code(grace, 'print("second run")\n')
    grace.get_by_role("button", name="Run").click()
    expect(ada.locator("#console-owner")).to_have_text("Grace's run", timeout=RUN_TIMEOUT)
    expect(ada.locator("#console")).to_have_text("second run\n", timeout=RUN_TIMEOUT)
    expect(ada.locator("#runs li")).to_have_count(2)
    ada.locator("#runs li").nth(1).locator("button.run-open").click()
    view = ada.locator("dialog.run-view")
    expect(view).to_contain_text("Your run")
    expect(view.locator(".run-output")).to_contain_text("Hello Grace and Ada #0")
    expect(view.locator(".run-file pre")).to_contain_text('name = input("Your name? ")')
    view.get_by_role("button", name="Close").click()
    expect(view).to_have_count(0)


def test_return_link_on_a_second_device_is_the_same_account_room_and_code(
    make_class: Any, new_page: Any, server: Server
) -> None:
    klass = make_class()
    ada, grace = new_page("ada"), new_page("grace")
    ada_id = join(ada, klass.join_code, "Ada")
    grace_id = join(grace, klass.join_code, "Grace")
    room = klass.room("Pair 2", "pair", [ada_id, grace_id])
    open_room(ada, room)
    replace_code(ada, "progress = 'written on the first laptop'\n")
    ada.goto(f"/classes/{klass.id}")
    card = ada.locator("#return-card")
    expect(card).to_contain_text("Come back as you")
    link = card.locator("input.return-link").input_value()
    code = card.locator("#return-code").inner_text()
    assert link.startswith(server.base_url + "/#return=") and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    # The instructor can show the same link from the roster of the class page.
    teacher = new_page("teacher", width=1280)
    sign_in(teacher, *server.instructor)
    teacher.goto(f"/classes/{klass.id}")
    teacher.locator(f"tr[data-user='{ada_id}']").get_by_role("button", name="Return link").click()
    dialog = teacher.get_by_role("dialog", name="Return link of Ada")
    expect(dialog.locator("input.return-link")).to_have_value(link)
    expect(dialog.locator(".return-code")).to_have_text(code)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)

    tablet = new_page("ada-tablet")
    tablet.goto(link)
    tablet.wait_for_url(re.compile(r"/classes/[^/]+$"))
    assert me(tablet)["user"]["id"] == ada_id
    assert "#return=" not in tablet.url
    tablet.get_by_role("link", name="Pair 2").first.click()
    tablet.wait_for_url(re.compile(room + "$"))
    open_room(tablet, room)
    expect_editor_text(tablet, "written on the first laptop")
    # Ada on two devices is one person in the room's people list.
    open_room(ada, room)
    open_room(grace, room)
    expect(grace.locator(".room-head .people li", has_text="Ada")).to_have_count(1)
    expect(grace.locator(".room-head .people li")).to_have_count(2)
    # And her edits from the tablet are her edits.
    type_code(tablet, "from_tablet = True\n")
    expect_editor_text(ada, "from_tablet = True")


def test_joining_again_with_a_taken_name_asks_instead_of_making_a_duplicate(make_class: Any, new_page: Any) -> None:
    klass = make_class()
    first = new_page("alice")
    alice_id = join(first, klass.join_code, "Alice")
    first.goto(f"/classes/{klass.id}")
    code = first.locator("#return-code").inner_text()

    other = new_page("alice-again")
    other.goto("/")
    other.get_by_label("Class code").fill(klass.join_code)
    other.get_by_label("Your name").fill("alice")
    other.get_by_role("button", name="Join").click()
    proof = other.get_by_label("Your return code (or password)")
    expect(proof).to_be_visible()
    expect(other.locator("#proof-help")).to_contain_text("already uses this name")
    assert other.url.endswith("/")
    roster = klass.api.get(f"/api/classes/{klass.id}/roster")["members"]
    assert [m["display_name"] for m in roster if m["role"] == "student"] == ["Alice"]

    proof.fill("WRNG-CODE")
    other.get_by_role("button", name="Join").click()
    expect(other.locator("#join-error")).to_contain_text("does not match")
    proof.fill(code.lower().replace("-", ""))
    other.get_by_role("button", name="Join").click()
    other.wait_for_url(re.compile(r"/classes/[^/]+$"))
    assert me(other)["user"]["id"] == alice_id
    roster = klass.api.get(f"/api/classes/{klass.id}/roster")["members"]
    assert [m["display_name"] for m in roster if m["role"] == "student"] == ["Alice"]


def test_room_page_never_scrolls_sideways_at_375px_and_keeps_the_editor_wide_at_1280px(
    make_class: Any, new_page: Any
) -> None:
    klass = make_class()
    phone = new_page("phone", width=375, height=740)
    phone_id = join(phone, klass.join_code, "Katherine")
    room = klass.room(
        "Pair 9",
        "pair",
        [phone_id, join(new_page("partner"), klass.join_code, "Dorothy")],
        lesson="sample/lists-and-loops",
    )
    open_room(phone, room)
    replace_code(phone, "long_line = '" + "x" * 400 + "'  # a very long line indeed\nprint(len(long_line))\n")
    phone.get_by_role("button", name="Run").click()
    expect(phone.locator("#console")).to_have_text("400\n", timeout=RUN_TIMEOUT)
    widths = phone.evaluate(
        """() => ({page: document.documentElement.scrollWidth, body: document.body.scrollWidth,
                  view: document.documentElement.clientWidth,
                  editor: document.querySelector('.cm-scroller').scrollWidth,
                  editorBox: document.querySelector('.cm-scroller').clientWidth})"""
    )
    assert widths["page"] <= widths["view"] and widths["body"] <= widths["view"], widths
    assert widths["editor"] > widths["editorBox"], widths  # the editor scrolls, not the page

    wide = new_page("wide", width=1280, height=860)
    wide_id = join(wide, klass.join_code, "Mary")
    wide_room = klass.room("Pair 10", "pair", [wide_id, phone_id], lesson="sample/lists-and-loops")
    open_room(wide, wide_room)
    expect(wide.locator(".lesson")).to_have_attribute("open", "")
    editor = wide.locator(".workspace").bounding_box()
    assert editor is not None and editor["width"] >= 0.6 * 1280, editor
    # Collapsing the lesson gives the editor the room.
    wide.locator(".lesson summary").click()
    wider = wide.locator(".workspace").bounding_box()
    assert wider is not None and wider["width"] > editor["width"], (editor, wider)


def test_room_page_javascript_arrives_compressed(make_class: Any, new_page: Any) -> None:
    klass = make_class()
    page = new_page("student")
    join(page, klass.join_code, "Hedy")
    encodings: dict[str, str] = {}
    page.on(
        "response",
        lambda r: (
            encodings.__setitem__(r.url, r.headers.get("content-encoding", "")) if r.url.endswith(".js") else None
        ),
    )
    open_room(page, personal_room(page, klass.id))
    scripts = {url: enc for url, enc in encodings.items() if "/assets/" in url}
    assert scripts and all(enc in ("br", "gzip") for enc in scripts.values()), scripts
