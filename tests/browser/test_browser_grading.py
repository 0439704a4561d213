"""Grading in a real browser: a student checks and reads per-test feedback, a hint appears after the second failed
check; the instructor's live dashboard shows the error cluster and the stuck student (never the instructor), and
the gradebook's CSV downloads with the right rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from browsing import ARTIFACTS, Server, join, open_room, replace_code, sign_in
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PARTIAL = "def area(width, height):\n    return width * height or 1\n\n\nprint(area(3, 4))\n"
PRINTS = "def area(width, height):\n    print(width * height)\n\n\nprint(area(3, 4))\n"
CORRECT = "def area(width, height):\n    return width * height\n\n\nprint(area(3, 4))\n"
NAME_ERROR = "def area(width, height):\n    return widht * height\n\n\nprint(area(3, 4))\n"
GRADED = 60_000  # generous: a check waits for a sandbox like a run


def check(page: Any) -> None:
    page.get_by_role("button", name="✓ Check", exact=True).click()
    expect(page.get_by_role("button", name="✓ Check", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="✓ Check", exact=True)).to_be_enabled(timeout=GRADED)


def run_to_error(page: Any) -> None:
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-status")).to_have_attribute("data-tone", "err", timeout=GRADED)
    expect(page.get_by_role("button", name="Run")).to_be_enabled()


def test_a_student_checks_reads_the_feedback_and_gets_a_hint_after_two_failures(make_class: Any, new_page: Any) -> None:
    klass = make_class("Year 9 Python")
    ada = new_page("ada", width=1440, height=900)
    ada_id = join(ada, klass.join_code, "Ada")
    room = klass.room("Ada · functions", "personal", [ada_id], lesson="sample/functions")
    open_room(ada, room)
    expect(ada.locator("#check-best")).to_contain_text("Not checked yet · 3 hidden tests, 10 points")

    replace_code(ada, PARTIAL)
    check(ada)
    expect(ada.locator("#check-summary")).to_contain_text("2 of 3 tests passed")
    failed = ada.locator('#check-tests li[data-passed="false"]')
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("area(0, 5) is 0")
    expect(failed.locator(".test-message")).to_have_text("area(0, 5): expected 0, got 1")
    expect(ada.locator("#check-best")).to_contain_text("Best: 7 / 10 points · 1 check")
    expect(ada.locator("#hints")).to_have_count(0)  # one failed check: no hint yet

    replace_code(ada, PRINTS)
    check(ada)
    expect(ada.locator("#check-summary")).to_contain_text("0 of 3 tests passed")
    expect(ada.locator("#check-tests .test-message").first).to_contain_text("area(3, 4): expected 12, got None")
    expect(ada.locator("#hints")).to_contain_text("A function hands its answer back with return.")
    expect(ada.locator("#hints code")).to_have_text("return")
    expect(ada.locator("#check-best")).to_contain_text("Best: 7 / 10 points · 2 checks")
    next_hint = ada.get_by_text("A hint appears after")
    expect(next_hint).to_contain_text("2 more failed checks")  # the second hint is still to come
    ARTIFACTS.mkdir(exist_ok=True)
    ada.mouse.move(0, 0)
    ada.screenshot(path=str(ARTIFACTS / "check.png"))

    replace_code(ada, CORRECT)
    check(ada)
    expect(ada.locator("#check-summary")).to_contain_text("All tests passed")
    expect(ada.locator("#check-best")).to_contain_text("Best: 10 / 10 points · 3 checks")
    expect(next_hint).to_have_count(0)  # solved: no more hints to earn, so none is announced
    expect(ada.locator("#hints")).to_contain_text("A function hands its answer back")  # what she earned stays

    ada.goto(f"/classes/{klass.id}")  # her own scores on the class page
    row = ada.locator("#my-scores tr", has_text="Functions")
    expect(row).to_contain_text("10 / 10")
    expect(row).to_contain_text("3 checks")
    expect(ada.locator("#my-scores tr", has_text="Lists and loops")).to_contain_text("not checked")
    expect(ada.locator("#my-total")).to_have_text("Total: 10 / 40")


def test_dashboard_shows_the_cluster_and_the_stuck_student_and_the_gradebook_downloads(
    make_class: Any, new_page: Any, server: Server, tmp_path: Path
) -> None:
    klass = make_class("Year 10 Python")
    grace = new_page("grace")
    grace_id = join(grace, klass.join_code, "Grace")
    room = klass.room("Grace · functions", "personal", [grace_id], lesson="sample/functions")
    open_room(grace, room)
    replace_code(grace, PARTIAL)
    check(grace)  # 7 of 10: the gradebook's row
    replace_code(grace, NAME_ERROR)
    for _ in range(3):
        run_to_error(grace)

    teacher = new_page("teacher", width=1440, height=1400)
    sign_in(teacher, *server.instructor)
    open_room(teacher, room)  # the instructor makes the same mistake in front of the class: never counted
    run_to_error(teacher)
    teacher.goto(f"/classes/{klass.id}/dashboard")
    expect(teacher.locator("#live")).to_have_attribute("data-state", "live", timeout=30_000)
    cluster = teacher.locator("#clusters li").first
    expect(cluster).to_contain_text("NameError: name <name> is not defined (line 2)", timeout=30_000)
    expect(cluster.locator(".count")).to_have_text("3")
    expect(cluster.locator(".names a")).to_have_text(["Grace"])
    expect(cluster.locator(".names a")).to_have_attribute("href", f"/rooms/{room}")
    stuck = teacher.locator("#stuck li")
    expect(stuck).to_have_count(1)
    expect(stuck).to_contain_text("Grace")
    expect(stuck.locator(".reason")).to_have_text("4 failing runs or checks in a row")
    functions = teacher.locator('#exercises [data-exercise="sample/functions"]')
    expect(functions).to_contain_text("0 solved")
    expect(functions).to_contain_text("1 trying")
    expect(teacher.locator("#board")).not_to_contain_text("Ms Lovelace")

    # live: a new failure reaches the open dashboard without a reload
    run_to_error(grace)
    expect(cluster.locator(".count")).to_have_text("4", timeout=30_000)
    expect(stuck.locator(".reason")).to_have_text("5 failing runs or checks in a row")

    cluster.locator(".names a", has_text="Grace").click()
    teacher.wait_for_url(f"**/rooms/{room}")

    teacher.goto(f"/classes/{klass.id}/gradebook")
    expect(teacher.locator("#gradebook tbody tr")).to_have_count(1)
    with teacher.expect_download() as download:
        teacher.locator("#csv").click()
    path = tmp_path / "gradebook.csv"
    download.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    header, row = rows[0], rows[1:]
    assert [r[0] for r in row] == ["Grace"]
    at = header.index("sample/functions best (of 10)")
    assert row[0][at : at + 3] == ["7.0", "1", ""]  # best 7 of 10 after one check, never a full pass
    assert row[0][1] == "7.0"


def test_a_partners_check_updates_the_other_pages_standing_and_hints(make_class: Any, new_page: Any) -> None:
    """Ada checks twice (failing); Grace, in the same pair room, never reloads and still sees the best score, the
    count and the hint the two failures revealed — pushed through the room's socket."""
    klass = make_class("Pairs")
    ada, grace = new_page("ada"), new_page("grace")
    ada_id, grace_id = join(ada, klass.join_code, "Ada"), join(grace, klass.join_code, "Grace")
    room = klass.room("Ada & Grace · functions", "pair", [ada_id, grace_id], lesson="sample/functions")
    open_room(ada, room)
    open_room(grace, room)
    expect(grace.locator("#check-best")).to_contain_text("Not checked yet")
    replace_code(ada, PARTIAL)
    check(ada)
    expect(grace.locator("#check-best")).to_contain_text("Best: 7 / 10 points · 1 check", timeout=GRADED)
    replace_code(ada, PRINTS)
    check(ada)
    expect(grace.locator("#check-best")).to_contain_text("Best: 7 / 10 points · 2 checks", timeout=GRADED)
    expect(grace.locator("#hints")).to_contain_text("A function hands its answer back with return.")
