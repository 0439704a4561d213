"""The session shard's store on the database (:class:`actors.session_store.SessionStore`, piccolo tables).

What lives where: the roster is ``enrollments`` (+ the class owner), rooms and their modes are ``rooms.kind``
(+ ``room_members``), the hand queue is ``help_requests`` with ``resolved_at`` null, and follow-me is the latest
``audit_log`` row with action :data:`FOLLOW_ACTION` for the class (the schema has no column for it; the audit
row also records who switched it and when). Every control-plane change also leaves an audit row.

The store uses whatever engine :func:`classroom.db.bind` bound in this process: the web process's own (in-process
control plane), or the one :class:`classroom.stores.PiccoloStores` binds in a shard's Ray worker.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from actors.session_state import ClassSession, Follow, Hand, Member, RoomInfo
from actors.session_store import FOLLOW_ACTION
from classroom.tables import AuditLog, Class, Enrollment, HelpRequest, Room, RoomMember, User


def now() -> datetime:
    return datetime.now(UTC)


def _sid(value: Any) -> str | None:
    return None if value is None else str(value)


class PiccoloSessionStore:
    """:class:`~actors.session_store.SessionStore` on the piccolo tables (stateless: the bound engine is the state)."""

    async def load_class(self, class_id: str) -> ClassSession | None:
        """A fresh session for an existing, unarchived class (roster, rooms, open hands, follow), or None."""
        klass = await Class.objects().where(Class.id == uuid.UUID(class_id)).first().run()
        if klass is None or klass.archived:
            return None
        session = ClassSession(class_id=class_id, name=str(klass.name), owner_id=str(klass.owner))
        await self.refresh(session)
        session.hands = await self.open_hands(class_id)
        session.follow = await self.last_follow(class_id)
        return session

    async def refresh(self, session: ClassSession) -> None:
        """Re-read what other parts of the server write: the roster and the rooms (with members)."""
        session.roster = await self.roster(session.class_id, session.owner_id)
        session.rooms = await self.rooms(session.class_id)

    async def roster(self, class_id: str, owner_id: str) -> dict[str, Member]:
        rows = await (
            Enrollment.select(Enrollment.user, Enrollment.role, Enrollment.user.display_name.as_alias("name"))
            .where((Enrollment.klass == uuid.UUID(class_id)) & Enrollment.removed_at.is_null())
            .run()
        )
        found = {str(r["user"]): Member(str(r["user"]), str(r["name"]), str(r["role"])) for r in rows}
        if owner_id not in found:
            owner = await User.select(User.display_name).where(User.id == uuid.UUID(owner_id)).first().run()
            found[owner_id] = Member(owner_id, str(owner["display_name"]) if owner else "", "instructor")
        else:
            found[owner_id].role = "instructor"  # the owner is an instructor whatever the enrollment row says
        return found

    async def rooms(self, class_id: str) -> dict[str, RoomInfo]:
        rows = await (
            Room.select(Room.id, Room.name, Room.kind, Room.lesson)
            .where((Room.klass == uuid.UUID(class_id)) & (Room.archived == False))  # noqa: E712
            .run()
        )
        found = {str(r["id"]): RoomInfo(str(r["id"]), str(r["name"]), str(r["kind"]), r["lesson"]) for r in rows}
        if found:
            members = await (
                RoomMember.select(RoomMember.room, RoomMember.user, RoomMember.role)
                .where(RoomMember.room.is_in([uuid.UUID(i) for i in found]))
                .run()
            )
            for m in members:
                found[str(m["room"])].members[str(m["user"])] = str(m["role"])
        return found

    async def open_hands(self, class_id: str) -> list[Hand]:
        rows = await (
            HelpRequest.objects()
            .where((HelpRequest.klass == uuid.UUID(class_id)) & HelpRequest.resolved_at.is_null())
            .order_by(HelpRequest.created_at)
            .run()
        )
        return [
            Hand(
                str(r.id), str(r.user), _sid(r.room), str(r.note), r.created_at, file=r.cursor_file, line=r.cursor_line
            )
            for r in rows
        ]

    async def find_hand(self, class_id: str, hand_id: str) -> Hand | None:
        """A hand of this class, open or resolved (to tell "already resolved" from "no such hand")."""
        r = await (
            HelpRequest.objects()
            .where((HelpRequest.id == uuid.UUID(hand_id)) & (HelpRequest.klass == uuid.UUID(class_id)))
            .first()
            .run()
        )
        if r is None:
            return None
        return Hand(
            str(r.id),
            str(r.user),
            _sid(r.room),
            str(r.note),
            r.created_at,
            r.resolved_at,
            _sid(r.resolved_by),
            file=r.cursor_file,
            line=r.cursor_line,
        )

    async def insert_hand(self, class_id: str, hand: Hand) -> None:
        await (
            HelpRequest(
                id=uuid.UUID(hand.id),
                klass=uuid.UUID(class_id),
                user=uuid.UUID(hand.user_id),
                room=None if hand.room_id is None else uuid.UUID(hand.room_id),
                note=hand.note,
                cursor_file=hand.file,
                cursor_line=hand.line,
                created_at=hand.created_at,
            )
            .save()
            .run()
        )

    async def resolve_hand(self, hand: Hand) -> None:
        assert hand.resolved_at is not None and hand.resolved_by is not None
        await (
            HelpRequest.update(
                {HelpRequest.resolved_at: hand.resolved_at, HelpRequest.resolved_by: uuid.UUID(hand.resolved_by)}
            )
            .where(HelpRequest.id == uuid.UUID(hand.id))
            .run()
        )

    async def set_room_mode(self, room_id: str, mode: str) -> None:
        await Room.update({Room.kind: mode}).where(Room.id == uuid.UUID(room_id)).run()

    async def last_follow(self, class_id: str) -> Follow | None:
        row = await (
            AuditLog.objects()
            .where((AuditLog.klass == uuid.UUID(class_id)) & (AuditLog.action == FOLLOW_ACTION))
            .order_by(AuditLog.created_at, ascending=False)
            .first()
            .run()
        )
        if row is None or not row.target:
            return None  # never set, or last switched off (target null)
        return Follow(str(row.target), str(row.actor), row.created_at)

    async def audit(self, class_id: str, actor: str, action: str, target: str | None, **detail: Any) -> None:
        """One audit row per control-plane change (follow-me is read back from these rows: keep ``target``)."""
        await (
            AuditLog(
                id=uuid.uuid4(),
                actor=uuid.UUID(actor),
                action=action,
                klass=uuid.UUID(class_id),
                target=target,
                detail=detail,
                created_at=now(),
            )
            .save()
            .run()
        )
