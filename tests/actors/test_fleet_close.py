"""A graceful stop of the fleet (real Ray, real docker sandboxes) leaves no container and no cgroup folder: each
slot closes its warm pool before it is killed (a slot killed outright left its warm containers behind)."""

from __future__ import annotations

import asyncio

import pytest

from actors.fleet import RayFleet
from execution import get_backend

pytestmark = [pytest.mark.anyio, pytest.mark.ray, pytest.mark.sandbox]


async def test_a_graceful_fleet_stop_removes_every_warm_container(ray_local: None) -> None:
    docker = get_backend("docker")
    missing = docker.unavailable_reason()
    if missing is not None:
        pytest.skip(f"docker unavailable: {missing[0]}")
    fleet = RayFleet({"backend": "docker", "warm": 2, "limits": {"wall_seconds": 5.0}})
    try:
        for _ in range(600):
            await fleet.reconcile()
            if len(fleet.ready()) == 2:
                break
            await asyncio.sleep(0.1)
        assert len(fleet.ready()) == 2, fleet.unusable_reason()
        pids = [await fleet.pid(name) for name in fleet.ready()]
        for _ in range(600):
            if (await fleet.pool_stats())["warm"] == 4:
                break
            await asyncio.sleep(0.1)
        made = {pid: docker.leftovers(owner=pid) for pid in pids}
        assert all(len([n for n in names if n.startswith("classroom-")]) == 2 for names in made.values()), made
    finally:
        await fleet.close()
    assert {pid: docker.leftovers(owner=pid) for pid in pids} == {pid: [] for pid in pids}
