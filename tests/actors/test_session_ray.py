"""The session shards on a real local Ray: one writer by name, reload after a kill, idle exit, typed errors.

Each test uses a namespace of its own: shard names are per namespace, and a shard binds the database of the test
that created it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import ray
from piccolo.engine.base import Engine
from session_helpers import World, make_world

from actors.session_client import RaySessions, shard_name
from actors.session_state import SessionConflict, SessionNotFound
from classroom.stores import PiccoloStores

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


@pytest.fixture
def namespace(ray_local: None) -> Iterator[str]:
    name = f"sessions-{uuid.uuid4().hex[:8]}"
    yield name
    for actor in ray.util.list_named_actors(all_namespaces=True):  # detached shards outlive their creator
        if actor["namespace"] == name:
            ray.kill(ray.get_actor(actor["name"], namespace=name))


@pytest.fixture
async def world(sqlite_database: Engine[Any]) -> World:
    return await make_world()


@pytest.fixture
async def any_world(database: Engine[Any]) -> World:
    return await make_world()


async def name_released(namespace: str) -> None:
    """Wait (up to 20 s) until shard 0 no longer exists (its name is free for the next get-or-create)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            ray.get_actor(shard_name(0), namespace=namespace)
        except ValueError:
            return
        await asyncio.sleep(0.2)
    pytest.fail("the shard did not exit")


def url(engine: Engine[Any]) -> str:
    path = getattr(engine, "path", None)
    return f"sqlite:///{path}" if path else str(engine.config["dsn"])  # type: ignore[attr-defined]


async def test_two_clients_reach_one_writer_which_survives_a_kill(
    database: Engine[Any], any_world: World, namespace: str
) -> None:
    """On SQLite and PostgreSQL (the shard opens its own pool in its own process)."""
    world = any_world
    web1 = RaySessions(PiccoloStores(url(database)), namespace, shards=1)
    web2 = RaySessions(PiccoloStores(url(database)), namespace, shards=1)
    started = time.monotonic()
    hands = await asyncio.gather(
        web1.call(world.class_id, "raise_hand", world.students[0], None, "help"),
        web2.call(world.class_id, "raise_hand", world.students[0], None, "help"),
    )
    first_call = time.monotonic() - started
    assert sorted(h["created"] for h in hands) == [False, True]  # one writer: exactly one hand
    pid = await web1.handle(0).ready.remote()
    assert await web2.handle(0).ready.remote() == pid
    with pytest.raises(SessionConflict):
        await web2.call(world.class_id, "set_follow", world.pair_room, world.owner)
    with pytest.raises(SessionNotFound, match="no such class"):
        await web1.call(str(uuid.uuid4()), "view")
    # Kill the shard for good: the next call recreates it by name and it reloads the queue from the database.
    ray.kill(web1.handle(0), no_restart=True)
    await name_released(namespace)  # the kill is asynchronous: the next call must meet a new process
    view = await web1.call(world.class_id, "view")
    assert [h["user_id"] for h in view["hands"]] == [world.students[0]]
    assert await web1.handle(0).ready.remote() != pid
    print(f"first call incl. shard start: {first_call:.2f} s")


async def test_idle_shard_unloads_and_comes_back(sqlite_database: Engine[Any], world: World, namespace: str) -> None:
    web = RaySessions(PiccoloStores(url(sqlite_database)), namespace, shards=1, idle_seconds=1.0, tick_seconds=0.3)
    await web.call(world.class_id, "set_mode", world.pair_room, "demo", world.owner)
    await name_released(namespace)
    view = await web.call(world.class_id, "view")  # the stale handle fails; the client recreates the shard
    assert {r["id"]: r["mode"] for r in view["rooms"]}[world.pair_room] == "demo"


async def test_control_plane_component_on_ray(sqlite_database: Engine[Any], world: World, namespace: str) -> None:
    """The app's component as production wires it: shards and the analytics actor in the deployment namespace."""
    from classroom.sessions.routes import ControlPlane
    from classroom.settings import load_settings

    settings = load_settings(
        {
            "CLASSROOM_DATABASE_URL": url(sqlite_database),
            "CLASSROOM_RAY_NAMESPACE": namespace,
            "CLASSROOM_SECRET_KEY": "x" * 32,
        },
        dotenv=None,
    )
    control = ControlPlane(settings)
    await control.start()
    assert isinstance(control.plane, RaySessions) and (await control.check()).ok
    view = await control.plane.call(world.class_id, "view")
    assert len(view["roster"]) == 3
    snapshot = await control.snapshot(world.class_id)
    assert snapshot["class_id"] == world.class_id and snapshot["totals"]["runs"] == 0
    names = {a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["namespace"] == namespace}
    assert "analytics" in names and any(n.startswith("session-") for n in names)
    await control.stop()


async def test_warm_starts_the_shard_before_its_first_call(sqlite_database: Engine[Any], namespace: str) -> None:
    """A class page connecting warms its shard (the console calls ``warm``), so the first hand does not wait for a
    Ray worker process to start."""
    sessions = RaySessions(PiccoloStores(url(sqlite_database)), namespace, shards=1)
    with pytest.raises(ValueError):
        ray.get_actor(shard_name(0), namespace=namespace)
    await sessions.warm(str(uuid.uuid4()))
    actor = ray.get_actor(shard_name(0), namespace=namespace)  # exists now, created by warm and not by a call
    assert await actor.ready.remote() > 0
    await sessions.warm(str(uuid.uuid4()))  # a second warm reuses the handle: still the one shard
    assert [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["namespace"] == namespace] == [
        shard_name(0)
    ]
