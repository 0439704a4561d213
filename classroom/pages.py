"""The HTML pages a browser opens and the built front-end assets they load.

Each page is the same small shell (top bar, a left navigation slot, a main area) naming the page's bundle; the
bundle reads the ids it needs from the URL and talks to the JSON API. The bundles are built by
``npm run build`` in ``web/`` into ``web/dist``, whose ``manifest.json`` maps each page to its hashed files.
Hashed assets are served as immutable and precompressed (:mod:`classroom.assets`); the pages themselves are
never cached.

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

from classroom.assets import Assets

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


def routes(dist: Path = DIST, *, source_maps: bool = False) -> list[BaseRoute]:
    """The page routes (``/``, ``/login``, ``/classes/{id}`` with its ``/grid``, ``/gradebook`` and
    ``/dashboard``, ``/rooms/{id}``) and the assets under ``/assets`` (precompressed; source maps only with
    ``source_maps``, see :mod:`classroom.assets`)."""
    assets = _Assets(dist)
    return [
        Route("/", _page(assets, "join", "Join a class"), methods=["GET"], name="page_join"),
        Route("/login", _page(assets, "login", "Instructor sign-in"), methods=["GET"], name="page_login"),
        Route("/classes/{class_id}", _page(assets, "class", "Class"), methods=["GET"], name="page_class"),
        Route("/classes/{class_id}/grid", _page(assets, "grid", "Live grid"), methods=["GET"], name="page_grid"),
        Route("/rooms/{room_id}", _page(assets, "room", "Room"), methods=["GET"], name="page_room"),
        Route("/classes/{class_id}/gradebook", _page(assets, "gradebook", "Gradebook"), methods=["GET"]),
        Route("/classes/{class_id}/dashboard", _page(assets, "dashboard", "Dashboard"), methods=["GET"]),
        Mount(ASSETS_PREFIX, app=Assets(directory=dist, source_maps=source_maps), name="assets"),
    ]
