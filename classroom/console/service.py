"""The class channel's component on this replica: the open pages of each class, the event fan-out to them, the
grid feeds, presence and the live access of room connections.

- Pages: :meth:`Console.attach` registers a :class:`Page` (a viewer and an outgoing queue the socket drains); the
  first page of a class subscribes the class on the bus (:class:`~classroom.events.ClassEvents`), the last one
  unsubscribes. Each event reaches a page through its viewer's filter (:mod:`classroom.console.viewer`).
- Grid: while a class has a page with the grid open here, a :class:`~classroom.console.tiles.TileFeed` turns its
  rooms' documents into tiles for those pages (tiles never cross replicas: each replica feeds its own pages from
  its own copy of the documents).
- Presence: a change of who has sockets open in a class (:func:`classroom.presence.watch`) becomes a
  ``presence`` event with everyone online (:mod:`classroom.console.online`), at most every 0.3 s per class.
- Room access: every ``room`` event (from any replica) updates the rights of this replica's live editor
  connections of that room (:meth:`collab.RoomManager.set_access`): a room switched to demo stops taking
  students' edits at once, a room left or archived closes their connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from piccolo.query.functions.aggregate import Max
from starlette.applications import Starlette

from classroom.components import Health
from classroom.console.online import RENEW_SECONDS, Online
from classroom.console.tiles import TileFeed
from classroom.console.viewer import Viewer
from classroom.events import ClassEvents, Envelope
from classroom.events.service import EVERYONE
from classroom.presence import service as presence
from classroom.tables import DocumentUpdate, Room
from collab import Member, RoomManager

log = logging.getLogger(__name__)

MAX_QUEUED = 2000  # messages waiting for a page that does not read: it is closed instead of growing forever
PRESENCE_DEBOUNCE = 0.3
STUCK_DEBOUNCE = 3.0

StuckOf = Callable[[str], Awaitable[list[dict[str, Any]]]]


@dataclass(eq=False)
class Page:
    """One open class channel: who it is for and what waits to be sent to it."""

    class_id: str
    viewer: Viewer
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False
    # Until its snapshot is sent, a page keeps the events that arrive (admitted after: the snapshot fills in what
    # its viewer knows of the rooms), so nothing between "subscribed" and "snapshot read" is lost.
    ready: bool = False
    backlog: list[Envelope] = field(default_factory=list)

    def offer(self, envelope: Envelope) -> None:
        if not self.ready:
            self.backlog.append(envelope)
            return
        event = self.viewer.admit(envelope)
        if event is not None:
            self.push(event)

    def go_live(self) -> None:
        """The snapshot is out: send what arrived meanwhile, then every event as it comes."""
        self.ready = True
        backlog, self.backlog = self.backlog, []
        for envelope in backlog:
            self.offer(envelope)

    def push(self, message: dict[str, Any]) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= MAX_QUEUED:
            self.overflowed = True
            self.queue.put_nowait(None)  # the socket closes with 1013: the page reconnects and gets a snapshot
            return
        self.queue.put_nowait(message)


async def last_edits(room_ids: list[str]) -> dict[str, str]:
    """When each room's document last changed, from its durable log (the grid's "edited ... ago" before any tile)."""
    if not room_ids:
        return {}
    rows = (
        await DocumentUpdate.select(DocumentUpdate.room, Max(DocumentUpdate.created_at, alias="last"))
        .where(DocumentUpdate.room.is_in([uuid.UUID(r) for r in room_ids]))
        .group_by(DocumentUpdate.room)
        .run()
    )
    found = {}
    for row in rows:
        last = row["last"]
        if isinstance(last, str):  # SQLite answers aggregates as text
            last = datetime.fromisoformat(last)
        if isinstance(last, datetime):
            found[str(row["room"])] = (last if last.tzinfo else last.replace(tzinfo=UTC)).isoformat()
    return found


def access_rule(room: dict[str, Any]) -> Callable[[Member], bool | None]:
    """How a room's live editor connections may act after ``room`` changed (see the module docstring)."""
    members: dict[str, str] = room.get("members") or {}

    def decide(member: Member) -> bool | None:
        if member.role == "instructor":
            return True
        if member.role == "observer":
            return False
        if room.get("archived"):
            return None
        if room.get("mode") == "demo":
            return False
        if member.user_id not in members:
            return None
        return members[member.user_id] == "writer"

    return decide


class Console:
    name = "console"
    required = False

    def __init__(
        self,
        events: ClassEvents,
        rooms: RoomManager,
        online: Online,
        stuck_of: StuckOf | None,
        warm: Callable[[str], None] | None = None,
    ) -> None:
        self.events = events
        self.rooms = rooms
        self.online = online
        self.stuck_of = stuck_of
        self.warm = warm  # starts the class's session shard when a page of it connects
        self.pages: dict[str, set[Page]] = {}
        self.feeds: dict[str, TileFeed] = {}
        self._unsubscribe: dict[str, Callable[[], None]] = {}
        self._presence_due: dict[str, asyncio.TimerHandle] = {}
        self._stuck_due: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unwatch: Callable[[], None] | None = None
        self._renewer: asyncio.Task[None] | None = None

    # -- component -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self.events.listen(self._on_any)
        self._unwatch = presence.watch(self._presence_changed)
        self._renewer = asyncio.create_task(self._renew(), name="console-online")

    async def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
        for handle in [*self._presence_due.values(), *self._stuck_due.values()]:
            handle.cancel()
        tasks = [t for t in [self._renewer, *self._tasks] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for feed in list(self.feeds.values()):
            await feed.stop()
        self.feeds.clear()
        for pages in self.pages.values():
            for page in pages:
                page.queue.put_nowait(None)

    async def check(self) -> Health:
        count = sum(len(p) for p in self.pages.values())
        return Health(True, f"{count} class page(s), {len(self.feeds)} grid feed(s)")

    # -- pages -----------------------------------------------------------------------------------------------
    async def attach(self, page: Page) -> None:
        cid = page.class_id
        pages = self.pages.setdefault(cid, set())
        if not pages and self.warm is not None:  # the class's first page here; once started, warming is a no-op
            self.warm(cid)
        pages.add(page)
        if cid not in self._unsubscribe:
            self._unsubscribe[cid] = await self.events.subscribe(cid, lambda env: self._fan_out(cid, env))
        if page.viewer.grid and cid not in self.feeds:
            feed = TileFeed(self.rooms, lambda message: self._send_tile(cid, message))
            self.feeds[cid] = feed
            rooms = (
                await Room.select(Room.id)
                .where((Room.klass == uuid.UUID(cid)) & Room.archived.eq(False) & Room.kind.is_in(["personal", "pair"]))
                .run()
            )
            ids = [str(r["id"]) for r in rooms]
            await feed.start(ids, await last_edits(ids))

    async def detach(self, page: Page) -> None:
        cid = page.class_id
        pages = self.pages.get(cid, set())
        pages.discard(page)
        if not any(p.viewer.grid for p in pages) and cid in self.feeds:
            await self.feeds.pop(cid).stop()
        if not pages:
            self.pages.pop(cid, None)
            unsubscribe = self._unsubscribe.pop(cid, None)
            if unsubscribe is not None:
                unsubscribe()

    def tiles(self, class_id: str) -> list[dict[str, Any]]:
        feed = self.feeds.get(class_id)
        return [] if feed is None else [t.full() for t in feed.tiles.values()]

    # -- fan-out ---------------------------------------------------------------------------------------------
    def _fan_out(self, class_id: str, envelope: Envelope) -> None:
        for page in list(self.pages.get(class_id, ())):
            page.offer(envelope)

    def _send_tile(self, class_id: str, message: dict[str, Any]) -> None:
        for page in list(self.pages.get(class_id, ())):
            if page.viewer.instructor and page.viewer.grid and page.ready:
                page.push(message)

    def _on_any(self, envelope: Envelope) -> None:
        """Every event of every class, from here or another replica: keep editor rights and grid feeds current."""
        event = envelope.event
        if event.get("type") == "room":
            room = event["room"]
            rid = str(room["id"])
            self.rooms.set_access(rid, access_rule(room))
            feed = self.feeds.get(envelope.class_id)
            if feed is not None:
                if room.get("archived") or room.get("mode") == "demo":
                    feed.unwatch(rid)
                else:
                    self._spawn(feed.watch(rid))
        elif event.get("type") == "run" and envelope.class_id in self.feeds and self.stuck_of is not None:
            self._later(self._stuck_due, envelope.class_id, STUCK_DEBOUNCE, self._push_stuck)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _later(
        self,
        due: dict[str, asyncio.TimerHandle],
        class_id: str,
        delay: float,
        work: Callable[[str], Awaitable[None]],
    ) -> None:
        if class_id in due:
            return

        def fire() -> None:
            due.pop(class_id, None)
            self._spawn(work(class_id))

        due[class_id] = asyncio.get_running_loop().call_later(delay, fire)

    async def _push_stuck(self, class_id: str) -> None:
        assert self.stuck_of is not None
        try:
            stuck = await asyncio.wait_for(self.stuck_of(class_id), timeout=5)
        except Exception as exc:  # analytics restarting: the badges stay as they were
            log.info("console: no stuck students for %s: %s", class_id, exc)
            return
        message = {"type": "stuck", "stuck": stuck}
        for page in list(self.pages.get(class_id, ())):
            if page.viewer.instructor:
                page.push(message)

    # -- presence --------------------------------------------------------------------------------------------
    def _presence_changed(self, class_id: uuid.UUID) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop (a test registering outside one): skip
            self._later(self._presence_due, str(class_id), PRESENCE_DEBOUNCE, self._publish_presence)

    async def _publish_presence(self, class_id: str) -> None:
        online = await self.online.update(uuid.UUID(class_id))
        self.events.publish(class_id, {"type": "presence", "online": online}, EVERYONE)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            classes = {e.class_id for e in presence.entries() if e.class_id is not None}
            for class_id in classes:
                try:
                    await self.online.update(class_id)
                except Exception:
                    log.exception("console: renewing presence of %s failed", class_id)


def install(
    app: Starlette, parts: list[Any], stuck_of: StuckOf | None, warm: Callable[[str], None] | None = None
) -> ClassEvents:
    """Add the class event bus (before the rooms, after Redis) and the console (right after the rooms) as
    components; expose them as ``app.state.events`` and ``app.state.console``. Returns the bus."""
    redis = next((p for p in parts if getattr(p, "name", "") == "redis"), None)
    client = None if redis is None else redis.client
    events = ClassEvents(client)
    rooms = next(p for p in parts if getattr(p, "name", "") == "rooms")
    parts.insert(parts.index(rooms), events)
    console = Console(events, app.state.rooms, Online(client, events.origin), stuck_of, warm)
    parts.insert(parts.index(rooms) + 1, console)
    app.state.events = events
    app.state.console = console
    return events
