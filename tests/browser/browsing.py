"""What a person does on the pages, as small helpers the browser tests share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

# Test modules import these from here, never from ``conftest`` (a name every test folder has).
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@dataclass
class Server:
    """The real ``classroom serve`` the browser tests talk to."""

    base_url: str
    instructor: tuple[str, str]
    log: Path | None = None

    def log_tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log and self.log.exists() else ""


# The editor's text without remote-cursor widgets (their name labels and word joiners are not code).
_EDITOR_TEXT = """() => {
  const content = document.querySelector('.cm-content');
  if (!content) return null;
  const copy = content.cloneNode(true);
  copy.querySelectorAll('.cm-ySelectionCaret, .cm-ySelectionInfo, .cm-widgetBuffer').forEach((n) => n.remove());
  return [...copy.querySelectorAll('.cm-line')].map((l) => l.textContent.replace(/\\u2060/g, '')).join('\\n');
}"""


def join(page: Any, code: str, name: str) -> str:
    """Join the class on the join page; returns the new student's user id."""
    page.goto("/")
    page.get_by_label("Class code").fill(code)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join").click()
    page.wait_for_url(re.compile(r"/classes/[^/]+$"))
    me = page.context.request.get("/api/me").json()
    return str(me["user"]["id"])


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/(classes/[^/]+)?$"))


def open_room(page: Any, room_id: str) -> None:
    page.goto(f"/rooms/{room_id}")
    page.locator(".cm-content").wait_for()
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.locator(".tab[aria-selected=true]").wait_for()


def editor_text(page: Any) -> str:
    return str(page.evaluate(_EDITOR_TEXT))


def expect_editor_text(page: Any, wanted: str | re.Pattern[str], timeout: float = 10_000) -> None:
    """Wait until the editor shows ``wanted`` (a substring, or a pattern to search for)."""
    page.wait_for_function(
        f"""(w) => {{ const t = ({_EDITOR_TEXT})(); if (t === null) return false;
              return w.re ? new RegExp(w.re, 's').test(t) : t.includes(w.s); }}""",
        arg={"re": wanted.pattern} if isinstance(wanted, re.Pattern) else {"s": wanted},
        timeout=timeout,
    )


def type_code(page: Any, text: str) -> None:
    """Insert text at the end of the editor as typed text (without the editor's auto-indent of key presses)."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(text)


def replace_code(page: Any, text: str) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
