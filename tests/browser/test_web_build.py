"""The front end's own checks, run from the Python suite so `make test` covers them: its unit tests (node:test)
and the page-size budget (the room page's JavaScript at most 150 KB gzipped)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from browsing import ROOT

WEB = ROOT / "web"
pytestmark = pytest.mark.node


def npm(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("npm") is None or not (WEB / "node_modules").is_dir():
        pytest.fail("web/node_modules is missing: run `npm ci` in web/ (make test does)")
    return subprocess.run(["npm", "run", "--silent", *args], cwd=WEB, capture_output=True, text=True, timeout=120)


def test_front_end_unit_tests_pass() -> None:
    done = npm("test")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_room_page_javascript_fits_the_budget() -> None:
    if not (WEB / "dist" / "meta.json").exists():
        pytest.fail("the front end is not built: run `npm run build` in web/ (make test does)")
    done = npm("size")
    print(done.stdout)
    sizes = {m[1]: float(m[2]) for m in re.finditer(r"^(\w+)\s+([\d.]+) KB", done.stdout, re.M)}
    assert "room" in sizes, done.stdout + done.stderr
    assert sizes["room"] <= 150, done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
