"""Browser tests drive Debian's Chromium (``/usr/bin/chromium``, headless) against the real server.

One server per session: ``classroom migrate``, ``classroom admin create-instructor`` and ``classroom serve`` on a
free port with a temporary data directory. Set-up (classes, rooms) goes through the HTTP API as the instructor
(:class:`Api`); students join through the join page like a person would. When a test fails, every page it opened
is saved as a screenshot under ``test-artifacts/``.

``CLASSROOM_BROWSER_BASE_URL`` (with ``CLASSROOM_BROWSER_INSTRUCTOR=user:password``) points the tests at a
server that is already running instead, for debugging the front end.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from browsing import ARTIFACTS, ROOT, Server
from must_work import unusable

CHROMIUM = Path("/usr/bin/chromium")
INSTRUCTOR = "teacher"
PASSWORD = "correct-horse-battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real classroom server with one instructor account."""
    external = os.environ.get("CLASSROOM_BROWSER_BASE_URL")
    if external:
        user, _, password = os.environ.get("CLASSROOM_BROWSER_INSTRUCTOR", f"{INSTRUCTOR}:{PASSWORD}").partition(":")
        yield Server(external.rstrip("/"), (user, password))
        return
    if not (ROOT / "web" / "dist" / "manifest.json").exists():
        pytest.fail("the front end is not built: run `npm ci && npm run build` in web/ (make test does)")
    data = tmp_path_factory.mktemp("browser-server")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CLASSROOM_DATA_DIR": str(data),
        "CLASSROOM_PORT": str(port),
        # No CLASSROOM_ALLOWED_ORIGINS: by default the allowed origins follow the port (issue 12).
        "CLASSROOM_SHUTDOWN_SECONDS": "5",
        "CLASSROOM_RUN_WALL_SECONDS": "5",  # the time-limit test waits for it
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    cli = [sys.executable, "-m", "classroom"]
    for args in (
        ["migrate"],
        ["admin", "create-instructor", INSTRUCTOR, "--name", "Ms Lovelace", "--password", PASSWORD, "--exist-ok"],
    ):
        done = subprocess.run([*cli, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            pytest.fail(f"classroom {' '.join(args)} failed: {done.stdout}{done.stderr}")
    log = data / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*cli, "serve"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"classroom serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        # Runs need the sandbox self-test to finish; editing does not, so a server that never gets ready still
        # serves the collaboration tests (the run tests then fail with the reason in the server log).
        ready_by = time.monotonic() + 90
        while time.monotonic() < ready_by:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        page = httpx.get(f"{base}/rooms/probe", timeout=10)
        if page.status_code != 200 or "<main" not in page.text:
            pytest.fail(
                f"classroom serve does not serve the pages (GET /rooms/probe -> {page.status_code}): "
                "create_app must mount classroom.pages.routes()"
            )
        yield Server(base, (INSTRUCTOR, PASSWORD), log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Api:
    """The HTTP API as one signed-in person (cookie session + the CSRF double-submit header)."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=20)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"X-CSRF-Token": self.client.cookies.get("classroom_csrf") or ""}
        response = self.client.request(method, path, json=body, headers=headers)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, {} if body is None else body)

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="module")
def teacher(server: Server) -> Iterator[Api]:
    """The instructor's API session, signed in once (sign-ins are rate limited per account and address)."""
    api = Api(server.base_url)
    user, password = server.instructor
    api.post("/api/login", {"username": user, "password": password})
    yield api
    api.close()


@dataclass
class Classroom:
    """A fresh class made by the instructor, and helpers to add rooms to it."""

    api: Api
    id: str
    join_code: str
    rooms: dict[str, str] = field(default_factory=dict)

    def room(self, name: str, kind: str, members: list[str] | None = None, lesson: str | None = None) -> str:
        """A new room; ``lesson`` is ``course/slug`` (the server's bundled course is ``sample``)."""
        body = {"name": name, "kind": kind, "members": members or [], "lesson": lesson}
        made = self.api.post(f"/api/classes/{self.id}/rooms", body)
        self.rooms[name] = str(made["id"])
        return self.rooms[name]


@pytest.fixture(scope="module")
def make_class(teacher: Api) -> Callable[[str], Classroom]:
    def make(name: str = "") -> Classroom:
        made = teacher.post("/api/classes", {"name": name or f"Python {secrets.token_hex(2)}"})
        info = made if "join_code" in made else teacher.get(f"/api/classes/{made['id']}")
        return Classroom(teacher, str(made["id"]), str(info["join_code"]))

    return make


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped on purpose: Playwright's sync API keeps an event loop marked running on this thread until it
    stops, which would break every async test collected after the browser tests."""
    if not CHROMIUM.exists():
        unusable("chromium", "Debian's Chromium is not at /usr/bin/chromium (scripts/install-system.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        yield chromium
        chromium.close()


Pages = Callable[..., Any]


@pytest.fixture
def new_page(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Pages]:
    """``new_page(label)``: a page in a fresh browser context (its own cookies and IndexedDB).

    If the test fails, each page is saved as ``test-artifacts/<test>-<label>.png``.
    """
    opened: list[tuple[str, Any, Any]] = []

    def make(label: str, *, width: int = 1280, height: int = 860) -> Any:
        context = browser.new_context(base_url=server.base_url, viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on("pageerror", lambda exc: print(f"[{label}] page error: {exc}"))
        opened.append((label, context, page))
        return page

    yield make
    failed = any(
        getattr(request.node, f"rep_{when}", None) and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    if failed:
        ARTIFACTS.mkdir(exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "_", request.node.name)
        for label, _context, page in opened:
            try:
                page.screenshot(path=str(ARTIFACTS / f"{safe}-{label}.png"), full_page=True)
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"could not save a screenshot of {label}: {exc}")
        if server.log:
            print(f"server log (tail):\n{server.log_tail()}")
    for _label, context, _page in opened:
        context.close()
