"""The built front end's files under ``/assets``: precompressed, immutable, and without public source maps.

``npm run build`` writes each JavaScript and CSS file three times: as is, ``.gz`` (gzip -9) and ``.br`` (brotli
11). A request gets the smallest variant its ``Accept-Encoding`` allows (brotli, then gzip, then identity) with
``Content-Encoding`` and ``Vary: Accept-Encoding``, so the server never compresses per request. Names carry a
content hash, so every file may be cached forever.

Source maps (``*.map``) and the build's own bookkeeping (``manifest.json``, ``meta.json``) are not served unless
``CLASSROOM_SOURCE_MAPS`` is on; then maps are served and each script names its map in a ``SourceMap`` header
(the bundles carry no ``sourceMappingURL`` comment, so nothing points at a map that is not there).
"""

from __future__ import annotations

import os
import stat
from typing import Any

import anyio
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
_PRIVATE_SUFFIXES = (".gz", ".br")
_BOOKKEEPING = ("manifest.json", "meta.json")


def accepted(header: str) -> set[str]:
    """The content codings an ``Accept-Encoding`` value allows (``q=0`` refuses one)."""
    allowed = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name and q > 0:
            allowed.add(name.strip().lower())
    return allowed


class Assets(StaticFiles):
    """:class:`StaticFiles` serving the precompressed variant of a file when the client accepts one."""

    def __init__(self, *, directory: Any, source_maps: bool = False) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.source_maps = source_maps

    async def get_response(self, path: str, scope: Scope) -> Response:
        name = os.path.basename(path)
        hidden = name.endswith(_PRIVATE_SUFFIXES) or name in _BOOKKEEPING
        if hidden or (name.endswith(".map") and not self.source_maps):
            raise HTTPException(status_code=404)
        if scope["method"] in ("GET", "HEAD") and name.endswith((".js", ".css")):
            allowed = accepted(Headers(scope=scope).get("accept-encoding", ""))
            for coding, suffix in ENCODINGS:
                if coding not in allowed:
                    continue
                try:
                    full, found = await anyio.to_thread.run_sync(self.lookup_path, path + suffix)
                except (OSError, ValueError):
                    break
                if found is not None and stat.S_ISREG(found.st_mode):
                    return self._respond(full, found, scope, name, coding)
        response = await super().get_response(path, scope)
        if response.status_code == 200 and name.endswith((".js", ".css")):
            self._decorate(response, name)
        return response

    def _respond(self, full: str, found: os.stat_result, scope: Scope, name: str, coding: str) -> Response:
        media = "text/javascript; charset=utf-8" if name.endswith(".js") else "text/css; charset=utf-8"
        response = FileResponse(full, stat_result=found, media_type=media)
        response.headers["Content-Encoding"] = coding
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return Response(status_code=304, headers={"ETag": response.headers["etag"]})
        self._decorate(response, name)
        return response

    def _decorate(self, response: Response, name: str) -> None:
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        if self.source_maps and name.endswith(".js"):
            response.headers["SourceMap"] = f"{name}.map"
