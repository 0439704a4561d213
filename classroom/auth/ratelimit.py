"""Rate limits: one small interface, a Redis implementation (shared by replicas) and an in-memory one.

Every limit is a fixed window: at most ``limit`` hits per ``window`` seconds for one key. :meth:`RateLimiter.hit`
counts a hit and raises :class:`~classroom.errors.RateLimited` (429 with ``Retry-After``) when the key is over.

Defaults (see :data:`LIMITS`): sign-in attempts 10 per 5 minutes per account+IP; joins
``CLASSROOM_JOINS_PER_TEN_MINUTES`` (300) per 10 minutes per IP;
runs ``CLASSROOM_RUNS_PER_MINUTE`` (30) per user per minute. Redis is used when ``CLASSROOM_REDIS_URL`` is set,
memory otherwise (per process).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from classroom.errors import RateLimited
from classroom.settings import Settings


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window: int  # seconds
    what: str  # for the 429 detail


def limits(settings: Settings) -> dict[str, Limit]:
    return {
        "signin": Limit("signin", 10, 300, "sign-in attempts for this account from this address"),
        "join": Limit("join", settings.joins_per_ten_minutes, 600, "class joins from this address"),
        "runs": Limit("runs", settings.runs_per_minute, 60, "runs"),
    }


class RateLimiter(Protocol):
    """Counts hits per key; :meth:`hit` raises RateLimited when over, :meth:`reset` forgets a key."""

    async def hit(self, limit: Limit, key: str) -> None: ...

    async def reset(self, limit: Limit, key: str) -> None: ...


def _over(limit: Limit, retry_after: float) -> RateLimited:
    wait = max(1, math.ceil(retry_after))
    return RateLimited(f"too many {limit.what}: at most {limit.limit} per {limit.window} s; retry in {wait} s", wait)


class MemoryRateLimiter:
    """Per-process fixed windows (the one-machine default)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    async def hit(self, limit: Limit, key: str) -> None:
        now = self._clock()
        start, count = self._windows.get((limit.name, key), (now, 0))
        if now - start >= limit.window:
            start, count = now, 0
        if count >= limit.limit:
            raise _over(limit, start + limit.window - now)
        self._windows[(limit.name, key)] = (start, count + 1)
        if len(self._windows) > 100_000:  # bound memory: drop expired windows
            self._windows = {k: v for k, v in self._windows.items() if now - v[0] < 3600}

    async def reset(self, limit: Limit, key: str) -> None:
        self._windows.pop((limit.name, key), None)


class RedisRateLimiter:
    """Fixed windows in Redis (``SET NX EX`` + ``INCR``), shared by every replica."""

    def __init__(self, client: Any, prefix: str = "classroom:rl:") -> None:
        self._redis = client
        self._prefix = prefix

    async def hit(self, limit: Limit, key: str) -> None:
        name = f"{self._prefix}{limit.name}:{key}"
        pipe = self._redis.pipeline()
        pipe.set(name, 0, ex=limit.window, nx=True)  # opens the window (and its expiry) on the first hit
        pipe.incr(name)
        pipe.ttl(name)
        _, count, ttl = await pipe.execute()
        if int(count) > limit.limit:
            raise _over(limit, ttl if ttl and ttl > 0 else limit.window)

    async def reset(self, limit: Limit, key: str) -> None:
        await self._redis.delete(f"{self._prefix}{limit.name}:{key}")


def client_ip(scope_client: tuple[str, int] | None) -> str:
    return scope_client[0] if scope_client else "unknown"


def build(settings: Settings, redis_client: Any | None) -> RateLimiter:
    """Redis-backed when a Redis client is configured, in memory otherwise."""
    return RedisRateLimiter(redis_client) if redis_client is not None else MemoryRateLimiter()


async def check(conn: Any, name: str, key: str) -> None:
    """Count one hit of limit ``name`` for ``key`` with the app's limiter (``app.state.rate_limiter``)."""
    limiter: RateLimiter = conn.app.state.rate_limiter
    await limiter.hit(limits(conn.app.state.settings)[name], key)
