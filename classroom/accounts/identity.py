"""Lasting identity for students who joined with a code and a name (issue 12): return links, return codes and
name claims. No HTTP here (the routes are in :mod:`classroom.accounts.routes`).

A student's **return token** is their user id and an HMAC of it under the server's secret key
(``base64url(uuid16 + mac16)``): it needs no storage, cannot be forged, and shows the same link every time it is
asked for (the instructor reads it from the roster for a student who lost it). It signs the browser in as that
student. The **return code** is a shorter HMAC (8 letters of the join-code alphabet, shown ``ABCD-EFGH``): on its
own it is nothing; with the class's join code *and* the student's name it claims that name in that class.

**Name claims**: joining with a name a student of the class already has (case and spaces ignored) is not a new
account: without proof it is :class:`NameTaken` (409); with the right return code, or that student's password
(students may set one), it signs in as them. Wrong proof is :class:`~classroom.errors.Unauthenticated`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from classroom.auth.passwords import verify_password
from classroom.classes.service import CODE_ALPHABET, clean_name, enrolled_students, normalise_code
from classroom.errors import Conflict, NotFound, Unauthenticated
from classroom.settings import Settings
from classroom.tables import Class, User

CODE_LETTERS = 8
_MAC_BYTES = 16


class NameTaken(Conflict):
    code = "name_taken"


def _mac(settings: Settings, purpose: bytes, user_id: uuid.UUID) -> bytes:
    return hmac.new(settings.secret_key.encode(), purpose + b"\0" + user_id.bytes, hashlib.sha256).digest()


def return_token(settings: Settings, user_id: uuid.UUID) -> str:
    raw = user_id.bytes + _mac(settings, b"return-link", user_id)[:_MAC_BYTES]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def user_of_token(settings: Settings, token: str) -> uuid.UUID:
    """The user id a return token names; :class:`Unauthenticated` for anything not made by this server."""
    try:
        raw = base64.urlsafe_b64decode(token.strip() + "=" * (-len(token.strip()) % 4))
    except ValueError:
        raise Unauthenticated("this return link is not valid") from None
    if len(raw) != 16 + _MAC_BYTES:
        raise Unauthenticated("this return link is not valid")
    user_id = uuid.UUID(bytes=raw[:16])
    if not hmac.compare_digest(raw[16:], _mac(settings, b"return-link", user_id)[:_MAC_BYTES]):
        raise Unauthenticated("this return link is not valid")
    return user_id


def return_code(settings: Settings, user_id: uuid.UUID) -> str:
    mac = _mac(settings, b"return-code", user_id)
    letters = "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in mac[:CODE_LETTERS])
    return f"{letters[:4]}-{letters[4:]}"


def same_code(settings: Settings, user_id: uuid.UUID, given: str) -> bool:
    wanted = normalise_code(return_code(settings, user_id))
    return hmac.compare_digest(wanted.encode(), normalise_code(given).encode())


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


async def class_of_code(join_code: str) -> Class:
    wanted = normalise_code(join_code)
    klass = None
    if wanted:
        klass = await Class.objects().where((Class.join_code == wanted) & Class.archived.eq(False)).first().run()
    if klass is None:
        raise NotFound("no class has this join code; check it with your instructor")
    return klass


async def holders(klass: Class, name: str) -> list[User]:
    """The class's students who go by ``name`` (case and spacing ignored), oldest first."""
    ids = await enrolled_students(uuid.UUID(str(klass.id)))
    if not ids:
        return []
    key = name_key(clean_name(name, "name"))
    users = (
        await User.objects().where(User.id.is_in(list(ids)) & User.disabled.eq(False)).order_by(User.created_at).run()
    )
    return [u for u in users if name_key(u.display_name) == key]


async def claim(
    settings: Settings, klass: Class, name: str, *, code: str | None, password: str | None, current: User | None
) -> User | None:
    """Who a join with ``name`` signs in as when the name is taken in the class; None when it is free (or the
    signed-in student already holds it). Raises :class:`NameTaken` without proof, Unauthenticated for wrong proof."""
    found = await holders(klass, name)
    if not found or (current is not None and any(u.id == current.id for u in found)):
        return None
    if code:
        for user in found:
            if same_code(settings, user.id, code):
                return user
    if password:
        for user in found:
            if user.password_hash and verify_password(user.password_hash, password):
                return user
    if code or password:
        raise Unauthenticated("that return code (or password) does not match this name in this class")
    raise NameTaken(
        f"{found[0].display_name!r} is already in this class. If that is you, enter your return code (or your "
        "password); if not, pick another name."
    )
