"""Shared fixtures: the anyio backend, databases (SQLite and the local PostgreSQL), Redis and settings.

Each level uses the cheapest real thing: a fresh SQLite file per test, one fresh PostgreSQL database per session
(tables truncated between tests), the local Redis on a database number of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from piccolo.engine.base import Engine

from classroom import db
from classroom.settings import Settings, load_settings
from classroom.tables import TABLES


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under ``CI=true`` the run stops at once, failed, unless bwrap, nsjail, docker and Chromium (and whatever
    ``CLASSROOM_TEST_REQUIRE_BACKENDS`` adds) are all usable: a broken install must not turn into skips. Elsewhere
    a declared piece fails the tests that need it, one by one (tests/must_work.py)."""
    from must_work import in_ci, machine_problems

    if not in_ci():
        return
    problems = machine_problems()
    if problems:
        pytest.exit("required pieces of this machine are not usable:\n  " + "\n  ".join(problems), returncode=1)


POSTGRES_ADMIN_URL = os.environ.get("CLASSROOM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("CLASSROOM_TEST_REDIS", "redis://127.0.0.1:6379/11")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _psql(sql: str) -> None:
    subprocess.run(["psql", POSTGRES_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True)


def _new_database() -> Iterator[str]:
    """An empty PostgreSQL database (its URL), dropped when the generator is closed."""
    name = f"classroom_test_{secrets.token_hex(4)}"
    try:
        _psql(f"CREATE DATABASE {name}")
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.fail(f"the local PostgreSQL at {POSTGRES_ADMIN_URL} is needed: {exc}")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    yield from _new_database()


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of this test's own (not migrated), dropped after it."""
    yield from _new_database()


@pytest.fixture(scope="session")
def _postgres_engine(postgres_url: str) -> Engine[Any]:
    """The session's PostgreSQL engine, migrated once. No pool: each query connects, so the engine is not
    tied to one event loop."""
    engine = db.engine_from_url(postgres_url)
    # Requested from inside an async fixture, where an event loop already runs: migrate on a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, db.migrate(engine)).result()
    return engine


async def _truncate(engine: Engine[Any]) -> None:
    names = ", ".join(t._meta.tablename for t in TABLES)
    await engine.run_ddl(f"TRUNCATE {names} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine[Any]]:
    """A migrated, empty, bound database: a fresh SQLite file, or the session's PostgreSQL database truncated.

    Tests that take this fixture run once per engine.
    """
    if request.param == "sqlite":
        engine = db.engine_from_url(f"sqlite:///{tmp_path / 'test.sqlite'}")
        await db.migrate(engine)
        yield engine
    else:
        engine = request.getfixturevalue("_postgres_engine")
        db.bind(engine)
        await _truncate(engine)
        yield engine


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Engine[Any]]:
    """A migrated, bound SQLite database for tests that are not about the engine."""
    engine = db.engine_from_url(f"sqlite:///{tmp_path / 'test.sqlite'}")
    await db.migrate(engine)
    yield engine


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The local Redis (a database number of the tests' own), flushed before and after."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"the local Redis at {REDIS_TEST_URL} is needed: {exc}")
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an in-process app: SQLite in a temp dir, no Ray unless a test asks for it."""
    return load_settings(
        {
            "CLASSROOM_DATA_DIR": str(tmp_path / "data"),
            "CLASSROOM_START_RAY": "false",
            "CLASSROOM_SANDBOX_BACKEND": "auto",
        },
        dotenv=None,
    )


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """One local Ray for the whole test session (~4 s to start), with 2 sandbox slots.

    Tests that need a different cluster shape (several nodes) run it in a subprocess of their own: one process
    can hold only one Ray connection.
    """
    import ray

    from actors import cluster

    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 namespace=f"classroom-test-{secrets.token_hex(3)}", resources={cluster.SLOT_RESOURCE: 2,
                            cluster.EDGE_RESOURCE: cluster.EDGE_UNITS})
    yield
    ray.shutdown()
