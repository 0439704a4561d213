"""Execution fixtures: real backends (failed where required, else skipped with the probe's reason where unusable;
see tests/must_work.py), a real server data directory, and host canaries."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from exec_helpers import BACKENDS, Canaries, usable_backend

from execution import Backend
from execution.canaries import HostCanaries


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory as the server makes it (secret key, SQLite file), guarded by the self-test's canaries.
    ``CLASSROOM_TEST_DATA_DIR`` names it instead (tests that build a broken box bind that one into it)."""
    from classroom import db
    from classroom.settings import load_settings

    named = os.environ.get("CLASSROOM_TEST_DATA_DIR")
    d = Path(named) if named else tmp_path_factory.mktemp("server") / "data"
    settings = load_settings({"CLASSROOM_DATA_DIR": str(d)}, dotenv=None)
    db.engine_from_url(settings.database_url)
    return settings.data_dir


@pytest.fixture(scope="session", params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    """Session-scoped so that tests run grouped by backend."""
    return str(request.param)


@pytest.fixture
def backend(backend_name: str, server_data_dir: Path) -> Backend:
    """Per test, so a self-test that failed once (under load) is tried again; a pass is cached for the session."""
    return usable_backend(backend_name, guard=(server_data_dir,))


@pytest.fixture(scope="session")
def canaries(tmp_path_factory: pytest.TempPathFactory, server_data_dir: Path) -> Iterator[Canaries]:
    d = tmp_path_factory.mktemp("host-canary")
    os.chmod(d, 0o755)
    secret = "file-canary-" + secrets.token_hex(8)
    f = d / "secret.txt"
    f.write_text(secret)
    os.chmod(f, 0o644)  # world-readable on the host: only the box may stop the read
    env_var, env_secret = "CLASSROOM_SECRET_KEY", "env-canary-" + secrets.token_hex(8)
    old = os.environ.get(env_var)
    os.environ[env_var] = env_secret
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    with HostCanaries((server_data_dir,)) as host:
        yield Canaries(f, secret, env_var, env_secret, listener, host)
    listener.close()
    if old is None:
        os.environ.pop(env_var, None)
    else:
        os.environ[env_var] = old
