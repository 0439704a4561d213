"""The live grid's tiles: the code around each room's last edit, read from this server's copy of the document.

A :class:`TileFeed` serves one class on this replica while at least one instructor has its grid open. It
subscribes to the class's personal and pair rooms (:meth:`collab.RoomManager.subscribe`), marks a room dirty on
each change and, at most once per ``interval`` seconds per room, turns the room's files into a tile: the file
and line of the last edit and the :data:`WINDOW` lines around it. A tile that only changed inside the same
window is sent as a patch (the changed lines by index), so a student typing on one line costs the instructor a
few dozen bytes per second. Keystrokes never wait on this: the subscription callback only marks the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from collab import RoomManager

log = logging.getLogger(__name__)

WINDOW = 9  # lines per tile: 4 above the edit, the edit, 4 below
MAX_LINE = 120  # characters of a line a tile shows (a tile is ~50 wide): what is past it never crosses the wire
INTERVAL = 1.0
TICK = 0.2


def changed_at(before: dict[str, str], after: dict[str, str]) -> tuple[str, int] | None:
    """The file and 1-based line where ``after`` first differs from ``before`` (None when nothing changed).

    A new or deleted file counts as changed at its first line; of several changed files the first by name wins.
    """
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None or new is None:
            return (name, 1) if new is not None else None
        prefix = 0
        limit = min(len(old), len(new))
        while prefix < limit and old[prefix] == new[prefix]:
            prefix += 1
        # An insertion at the very end of a line belongs to that line, not the next.
        return name, new.count("\n", 0, prefix) + 1
    return None


def window(text: str, line: int, size: int = WINDOW) -> tuple[int, list[str]]:
    """``(start, lines)``: ``size`` lines of ``text`` around 1-based ``line``, clamped to the text; a line longer
    than :data:`MAX_LINE` is cut (ending in "…")."""
    lines = text.split("\n")
    start = max(1, min(line - size // 2, len(lines) - size + 1))
    shown = lines[start - 1 : start - 1 + size]
    return start, [t if len(t) <= MAX_LINE else t[: MAX_LINE - 1] + "…" for t in shown]


@dataclass
class Tile:
    room_id: str
    file: str = "main.py"
    line: int = 1
    start: int = 1
    lines: list[str] = field(default_factory=list)
    edited_at: str | None = None

    def full(self) -> dict[str, Any]:
        return {
            "type": "tile",
            "room_id": self.room_id,
            "file": self.file,
            "line": self.line,
            "start": self.start,
            "lines": self.lines,
            "edited_at": self.edited_at,
        }


def tile_message(old: Tile | None, new: Tile) -> dict[str, Any] | None:
    """What to send for ``new`` given what the pages have (``old``): None (nothing changed), a patch or the tile."""
    if old is None or (old.file, old.start, len(old.lines)) != (new.file, new.start, len(new.lines)):
        return new.full()
    patch = {str(i): text for i, (was, text) in enumerate(zip(old.lines, new.lines, strict=True)) if was != text}
    if not patch and old.line == new.line:
        return None
    return {
        "type": "tile",
        "room_id": new.room_id,
        "line": new.line,
        "patch": patch,
        "edited_at": new.edited_at,
    }


Send = Callable[[dict[str, Any]], None]


class TileFeed:
    """Tiles of one class's rooms on this replica; ``send`` delivers a tile message to the class's grid pages."""

    def __init__(self, manager: RoomManager, send: Send, *, interval: float = INTERVAL) -> None:
        self.manager = manager
        self.send = send
        self.interval = interval
        self.tiles: dict[str, Tile] = {}
        self._files: dict[str, dict[str, str]] = {}
        self._dirty: dict[str, float] = {}
        self._sent: dict[str, float] = {}
        self._unsubscribe: dict[str, Callable[[], None]] = {}
        self._task: asyncio.Task[None] | None = None
        self.messages = 0
        self.bytes = 0

    async def start(self, room_ids: list[str], edited: dict[str, str] | None = None) -> None:
        """Follow ``room_ids``; ``edited`` gives each room's last edit time known before now (ISO), if any."""
        for room_id in room_ids:
            await self.watch(room_id)
            tile = self.tiles.get(room_id)
            if tile is not None and edited and room_id in edited:
                tile.edited_at = edited[room_id]
        self._task = asyncio.create_task(self._loop(), name="tiles")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()

    async def watch(self, room_id: str) -> None:
        """Follow a room (idempotent); its current code becomes its tile."""
        if room_id in self._unsubscribe:
            return
        try:
            files = await self.manager.files(room_id)
            self._unsubscribe[room_id] = await self.manager.subscribe(room_id, lambda _update: self._mark(room_id))
        except Exception as exc:  # a room this replica cannot load (limit reached...) has no tile; the rest do
            log.warning("tiles: cannot follow room %s: %s", room_id, exc)
            return
        self._files[room_id] = files
        name = "main.py" if "main.py" in files else min(files, default="main.py")
        start, lines = window(files.get(name, ""), 1)
        self.tiles[room_id] = Tile(room_id, name, 1, start, lines)

    def unwatch(self, room_id: str) -> None:
        unsubscribe = self._unsubscribe.pop(room_id, None)
        if unsubscribe is not None:
            unsubscribe()
        self.tiles.pop(room_id, None)
        self._files.pop(room_id, None)
        self._dirty.pop(room_id, None)
        self._sent.pop(room_id, None)

    def _mark(self, room_id: str) -> None:
        self._dirty.setdefault(room_id, time.monotonic())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            for room_id in [r for r in self._dirty if now - self._sent.get(r, 0.0) >= self.interval]:
                del self._dirty[room_id]
                self._sent[room_id] = now
                try:
                    await self._refresh(room_id)
                except Exception:  # one room's failure must not stop the grid
                    log.exception("tiles: room %s", room_id)

    async def _refresh(self, room_id: str) -> None:
        if room_id not in self._unsubscribe:
            return
        files = await self.manager.files(room_id)
        where = changed_at(self._files.get(room_id, {}), files)
        self._files[room_id] = files
        if where is None:
            return
        name, line = where
        start, lines = window(files.get(name, ""), line)
        new = Tile(room_id, name, line, start, lines, datetime.now(UTC).isoformat())
        message = tile_message(self.tiles.get(room_id), new)
        self.tiles[room_id] = new
        if message is not None:
            self.messages += 1
            self.send(message)
