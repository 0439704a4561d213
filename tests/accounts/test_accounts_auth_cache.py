"""The account cache (issue 15) keeps the one-second promise across replicas: each web process keeps what it read
of an account for at most ``USER_CACHE_SECONDS``, and a removal heard through Redis forgets it at once. Two real
``classroom serve`` processes (one SQLite file, one Redis), so that each has its own cache: a student removed on
replica A, or an account disabled in the database (as ``classroom admin`` does from a third process), is refused
by replica B one second later at the latest, although B had just let them in."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from authz_world import World, build_world

from classroom import db
from classroom.auth.service import USER_CACHE_SECONDS
from classroom.settings import Settings, load_settings
from classroom.tables import User

pytestmark = [pytest.mark.anyio, pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PROMISE_SECONDS = 1.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    return {
        "CLASSROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite'}",
        "CLASSROOM_REDIS_URL": redis_url,
        "CLASSROOM_SECRET_KEY": "two-replicas-share-one-secret-key-0123456789",
        "CLASSROOM_START_RAY": "false",
    }


@pytest.fixture
def replicas(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    cli = [sys.executable, "-m", "classroom"]
    base_env = {**os.environ, **env, "CLASSROOM_DATA_DIR": str(tmp_path / "data-0")}
    subprocess.run([*cli, "migrate"], env=base_env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    procs, urls = [], []
    try:
        for i in (1, 2):
            port = _port()
            log = (tmp_path / f"replica-{i}.log").open("w")
            replica_env = {**base_env, "CLASSROOM_DATA_DIR": str(tmp_path / f"data-{i}"), "CLASSROOM_PORT": str(port)}
            procs.append(subprocess.Popen([*cli, "serve"], env=replica_env, cwd=ROOT, stdout=log, stderr=log))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:  # serving (/readyz wants Ray)
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "replica-1.log").read_text()
                time.sleep(0.2)
        yield urls[0], urls[1]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


@pytest.fixture
async def world(env: dict[str, str], replicas: tuple[str, str], tmp_path: Path) -> AsyncIterator[World]:
    settings: Settings = load_settings({**env, "CLASSROOM_DATA_DIR": str(tmp_path / "data-0")}, dotenv=None)
    engine = db.engine_from_url(settings.database_url)
    db.bind(engine)
    yield await build_world(settings)


async def _me(client: httpx.AsyncClient, url: str, world: World, actor: str) -> int:
    return (await client.get(f"{url}/api/me", headers=world.headers(actor))).status_code


async def test_removal_and_disabling_reach_the_other_replicas_cache_within_a_second(
    replicas: tuple[str, str], world: World
) -> None:
    a, b = replicas
    async with httpx.AsyncClient(timeout=30) as client:
        # B has just let both students in: their accounts are in B's cache.
        assert await _me(client, b, world, "student_a") == 200
        assert await _me(client, b, world, "student_b") == 200
        # Ann is removed from her only class on replica A.
        student = world.users["student_a"].id
        removed = await client.delete(
            f"{a}/api/classes/{world.class1.id}/students/{student}", headers=world.headers("instructor")
        )
        assert removed.status_code == 200, removed.text
        removed_at = time.monotonic()
        # Ben's account is disabled in the database by another process (as `classroom admin` does).
        await User.update({User.disabled: True}).where(User.id == world.users["student_b"].id).run()
        disabled_at = time.monotonic()
        await asyncio.sleep(max(0.0, removed_at + PROMISE_SECONDS - time.monotonic()))
        assert await _me(client, b, world, "student_a") == 401
        await asyncio.sleep(max(0.0, disabled_at + PROMISE_SECONDS - time.monotonic()))
        assert await _me(client, b, world, "student_b") == 401
        assert await _me(client, a, world, "student_b") == 401
        assert USER_CACHE_SECONDS < PROMISE_SECONDS
