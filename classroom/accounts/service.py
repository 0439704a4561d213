"""People: creating and finding users. The HTTP routes and the CLI call these; they hold no HTTP knowledge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from classroom.auth.passwords import MIN_LENGTH, hash_password
from classroom.errors import BadRequest, Conflict
from classroom.tables import ROLES, User

# "admin-token" is the account CLASSROOM_ADMIN_TOKEN acts as (classroom.auth.service); nobody may sign up as it.
RESERVED_USERNAMES = frozenset({"admin-token"})


def now() -> datetime:
    return datetime.now(UTC)


async def create_password_user(
    *, username: str, display_name: str, password: str, role: str = "instructor", exist_ok: bool = False
) -> User:
    """A user who signs in with a local password. With ``exist_ok`` an existing username is returned unchanged."""
    username = username.strip().lower()
    if not username or len(username) > 120 or any(c.isspace() for c in username):
        raise BadRequest("username: expected 1–120 characters without spaces")
    if username in RESERVED_USERNAMES:
        raise BadRequest(f"username: {username!r} is reserved")
    if role not in ROLES:
        raise BadRequest(f"role: expected one of {', '.join(ROLES)}")
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"password: expected at least {MIN_LENGTH} characters")
    existing = await User.objects().where(User.username == username).first().run()
    if existing is not None:
        if exist_ok:
            return existing
        raise Conflict(f"username {username!r} is taken")
    user = User(
        id=uuid.uuid4(),
        username=username,
        display_name=display_name.strip()[:80] or username,
        role=role,
        password_hash=hash_password(password),
        created_at=now(),
    )
    await user.save().run()
    return user
