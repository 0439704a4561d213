"""Matrix rows of the browser pages: public HTML shells (the page's script asks the API, which checks access)
and the built assets."""

from __future__ import annotations

import json
from pathlib import Path

from authz_harness import Case, everyone

from classroom.pages import DIST


def _asset() -> str:
    """One built asset's URL (the bundle is built by `make test` before the suite runs)."""
    manifest = json.loads((Path(DIST) / "manifest.json").read_text())
    return f"/assets/{manifest['css']}"


ROWS = [
    Case("GET", "/", everyone(200)),
    Case("GET", "/login", everyone(200)),
    Case("GET", "/classes/{class_id}", everyone(200), url=lambda w: f"/classes/{w.class1.id}"),
    # The shell is public like every page; the grid's data comes only over the class channel (instructors, grid=1).
    Case("GET", "/classes/{class_id}/grid", everyone(200), url=lambda w: f"/classes/{w.class1.id}/grid"),
    Case("GET", "/rooms/{room_id}", everyone(200), url=lambda w: f"/rooms/{w.room_a.id}"),
    Case("GET", "/assets/{path}", everyone(200), url=lambda w: _asset()),
]
