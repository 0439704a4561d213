"""Signed-out sessions: a session cookie is self-contained (signed), so signing out must also be remembered
server-side until the cookie would have expired anyway, or a copied cookie would keep working.

One small interface, a Redis implementation (shared by replicas, entries expire with the session) and an
in-memory one (the one-machine default; pruned as entries expire). ``app.state.revocations`` holds the app's.
"""

from __future__ import annotations

import time
from typing import Any, Protocol


class Revocations(Protocol):
    """Remembers revoked session ids for ``ttl`` seconds."""

    async def revoke(self, sid: str, ttl: int) -> None: ...

    async def is_revoked(self, sid: str) -> bool: ...


class MemoryRevocations:
    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    async def revoke(self, sid: str, ttl: int) -> None:
        now = self._clock()
        self._until = {k: v for k, v in self._until.items() if v > now}  # sign-outs are rare: pruning is cheap
        self._until[sid] = now + max(1, ttl)

    async def is_revoked(self, sid: str) -> bool:
        until = self._until.get(sid)
        return until is not None and until > self._clock()


class RedisRevocations:
    def __init__(self, client: Any, prefix: str = "classroom:revoked:") -> None:
        self._redis = client
        self._prefix = prefix

    async def revoke(self, sid: str, ttl: int) -> None:
        await self._redis.set(self._prefix + sid, 1, ex=max(1, ttl))

    async def is_revoked(self, sid: str) -> bool:
        return bool(await self._redis.exists(self._prefix + sid))


def build(redis_client: Any | None) -> Revocations:
    return RedisRevocations(redis_client) if redis_client is not None else MemoryRevocations()
