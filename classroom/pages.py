"""The HTML pages a browser opens and the built front-end assets they load.

Each page is the same small shell (top bar, a left navigation slot, a main area) naming the page's bundle; the
bundle reads the ids it needs from the URL and talks to the JSON API. The bundles are built by
``npm run build`` in ``web/`` into ``web/dist``, whose ``manifest.json`` maps each page to its hashed files.
Hashed assets are served as immutable; the pages themselves are never cached.

:func:`routes` is the public face: the edge mounts it into the app.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
ASSETS_PREFIX = "/assets"
THEME_COOKIE = "classroom_theme"

_NOT_BUILT = (
    "<!doctype html><meta charset=utf-8><title>classroom: front end not built</title>"
    "<p>The front end is not built. Run <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>"
    " (or <code>make serve</code>).</p>"
)

_SHELL = """<!doctype html>
<html lang="en"{theme}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>{title} · classroom</title>
<link rel="stylesheet" href="{css}">
{preloads}<script type="module" src="{js}"></script>
</head>
<body data-page="{page}">
<a class="skip" href="#main">Skip to content</a>
<header class="topbar">
<a class="brand" href="/">classroom</a>
<span id="conn" class="conn" role="status" aria-live="polite"></span>
<button type="button" id="theme-toggle" aria-pressed="false">Theme</button>
<span id="who" class="who"></span>
</header>
<div class="layout">
<nav id="nav" class="nav" aria-label="Class" hidden></nav>
<main id="main" tabindex="-1"><p class="muted">Loading…</p>
<noscript><p>classroom needs JavaScript turned on.</p></noscript></main>
</div>
</body>
</html>
"""


@dataclass(frozen=True)
class _Manifest:
    mtime: float
    entries: dict[str, Any]


class _Assets:
    """The build manifest, re-read when ``web/dist/manifest.json`` changes (so a rebuild needs no restart)."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self._cached: _Manifest | None = None

    def manifest(self) -> dict[str, Any] | None:
        path = self.dist / "manifest.json"
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        if self._cached is None or self._cached.mtime != mtime:
            self._cached = _Manifest(mtime, json.loads(path.read_text()))
        return self._cached.entries


class _ImmutableStaticFiles(StaticFiles):
    """Build outputs carry a content hash in their names, so browsers may keep them forever."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if not str(full_path).endswith(".json"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _page(assets: _Assets, page: str, title: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        manifest = assets.manifest()
        if manifest is None or page not in manifest:
            return HTMLResponse(_NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
        entry = manifest[page]
        theme = request.cookies.get(THEME_COOKIE)
        body = _SHELL.format(
            theme=f' data-theme="{theme}"' if theme in ("light", "dark") else "",
            title=html.escape(title),
            css=f"{ASSETS_PREFIX}/{manifest['css']}",
            js=f"{ASSETS_PREFIX}/{entry['js']}",
            preloads="".join(
                f'<link rel="modulepreload" href="{ASSETS_PREFIX}/{chunk}">\n' for chunk in entry["imports"]
            ),
            page=page,
        )
        return HTMLResponse(body, headers={"Cache-Control": "no-cache"})

    return endpoint


def routes(dist: Path = DIST) -> list[BaseRoute]:
    """The page routes (``/``, ``/login``, ``/classes/{id}``, ``/rooms/{id}``) and the assets under ``/assets``."""
    assets = _Assets(dist)
    return [
        Route("/", _page(assets, "join", "Join a class"), methods=["GET"], name="page_join"),
        Route("/login", _page(assets, "login", "Instructor sign-in"), methods=["GET"], name="page_login"),
        Route("/classes/{class_id}", _page(assets, "class", "Class"), methods=["GET"], name="page_class"),
        Route("/rooms/{room_id}", _page(assets, "room", "Room"), methods=["GET"], name="page_room"),
        Mount(ASSETS_PREFIX, app=_ImmutableStaticFiles(directory=dist, check_dir=False), name="assets"),
    ]
