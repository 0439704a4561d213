"""Execution fixtures: real backends (skipped with the probe's reason where unusable) and host canaries."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator

import pytest
from exec_helpers import BACKENDS, Canaries, usable_backend

from execution import Backend


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    return usable_backend(request.param)


@pytest.fixture(scope="session")
def canaries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Canaries]:
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
    yield Canaries(f, secret, env_var, env_secret, listener)
    listener.close()
    if old is None:
        os.environ.pop(env_var, None)
    else:
        os.environ[env_var] = old
