"""The analytics actor on a real local Ray: found by name, fed fire-and-forget, survives a crash."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import ray
from piccolo.engine.base import Engine
from session_helpers import World, make_run, make_world

from actors.analytics_actor import get_or_create
from actors.options import ANALYTICS_ACTOR_NAME
from classroom.stores import PiccoloStores

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


@pytest.fixture
def namespace(ray_local: None) -> Iterator[str]:
    name = f"analytics-{uuid.uuid4().hex[:8]}"
    yield name
    with contextlib.suppress(ValueError):  # already gone
        ray.kill(ray.get_actor(ANALYTICS_ACTOR_NAME, namespace=name), no_restart=True)


async def test_fire_and_forget_then_snapshot_then_crash(sqlite_database: Engine[Any], namespace: str) -> None:
    world: World = await make_world()
    created = get_or_create(PiccoloStores(f"sqlite:///{sqlite_database.path}"), namespace)  # type: ignore[attr-defined]
    await created.ready.remote()
    # The dispatcher's way: look the actor up by name and drop the ref.
    handle = ray.get_actor(ANALYTICS_ACTOR_NAME, namespace=namespace)
    run_id = await make_run(world.students[0], world.class_id)
    handle.record_outcomes.remote(
        [
            {
                "run_id": run_id,
                "user_id": world.students[0],
                "class_id": world.class_id,
                "room_id": None,
                "exercise": "hello",
                "verdict": "runtime_error",
                "error_type": "NameError",
                "error_message": "name 'prnt' is not defined",
                "error_line": 1,
                "wall_ms": 12,
                "finished_at": datetime.now(UTC).isoformat(),
            }
        ]
    )
    deadline = time.monotonic() + 30
    while True:
        snap = await handle.snapshot.remote(world.class_id)
        if snap["totals"]["runs"] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert snap["exercises"][0]["top_errors"][0]["key"] == "NameError: name <name> is not defined @ 1"
    # A crash (restartable kill): Ray restarts it under the same handle and it reloads from the database.
    pid = await handle.ready.remote()
    ray.kill(handle, no_restart=False)
    deadline = time.monotonic() + 30
    while True:
        try:
            if await handle.ready.remote() != pid:  # the kill is asynchronous: wait for the new process
                break
        except ray.exceptions.RayActorError:
            pass
        assert time.monotonic() < deadline, "the analytics actor did not come back"
        await asyncio.sleep(0.3)
    assert (await handle.snapshot.remote(world.class_id))["totals"] == snap["totals"]
