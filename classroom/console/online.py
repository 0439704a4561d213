"""Who is online in a class, across replicas: this process's presence registry plus, with Redis, every replica's.

Each replica keeps its own people of a class in a Redis sorted set ``classroom:online:{class_id}`` (member
``replica|user_id|name``, score = when the entry expires) and renews them every :data:`RENEW_SECONDS`; a replica
that dies simply stops renewing and its entries age out after :data:`TTL_SECONDS`. Without Redis the registry of
this process is the whole truth (one replica).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from classroom.presence import service as presence

log = logging.getLogger(__name__)

PREFIX = "classroom:online:"
TTL_SECONDS = 45.0
RENEW_SECONDS = 15.0

Person = dict[str, str]


def _local(class_id: uuid.UUID) -> list[Person]:
    return [{"id": str(uid), "display_name": name} for uid, name in presence.online(class_id)]


class Online:
    def __init__(self, client: Any, origin: str) -> None:
        self._redis = client
        self._origin = origin

    async def update(self, class_id: uuid.UUID) -> list[Person]:
        """Write this replica's people of the class (when shared) and return everyone online in it."""
        local = _local(class_id)
        if self._redis is None:
            return local
        key = PREFIX + str(class_id)
        now = time.time()
        mine = {f"{self._origin}|{p['id']}|{p['display_name']}" for p in local}
        try:
            stored = await self._redis.zrangebyscore(key, now, "+inf")
            stale = [m for m in (s.decode() for s in stored) if m.startswith(self._origin + "|") and m not in mine]
            async with self._redis.pipeline(transaction=False) as pipe:
                if stale:
                    pipe.zrem(key, *stale)
                if mine:
                    pipe.zadd(key, {m: now + TTL_SECONDS for m in mine})
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.expire(key, int(TTL_SECONDS * 2))
                await pipe.execute()
        except Exception as exc:  # Redis down: this replica's people are still right
            log.warning("online: %s", exc)
            return local
        return await self.read(class_id)

    async def read(self, class_id: uuid.UUID) -> list[Person]:
        local = _local(class_id)
        if self._redis is None:
            return local
        try:
            stored = await self._redis.zrangebyscore(PREFIX + str(class_id), time.time(), "+inf")
        except Exception as exc:
            log.warning("online: %s", exc)
            return local
        people = {p["id"]: p for p in local}
        for raw in stored:
            _origin, uid, name = raw.decode().split("|", 2)
            people.setdefault(uid, {"id": uid, "display_name": name})
        return sorted(people.values(), key=lambda p: p["display_name"].lower())
