"""Execution fixtures: real backends (skipped with the probe's reason where unusable) and host canaries."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Iterator

import pytest
from exec_helpers import Canaries

from execution import Backend, get_backend
from execution.selftest import self_test

BACKENDS = ["bwrap", "nsjail", "docker", "docker-gvisor"]
_unusable: dict[str, str] = {}


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def usable_backend(name: str) -> Backend:
    """The real backend, or ``pytest.skip`` with the reason its probe gives."""
    if name in _unusable:
        pytest.skip(_unusable[name])
    backend = get_backend(name)
    missing = backend.unavailable_reason()
    if name.startswith("docker") and missing is not None and missing[0].startswith("runtime image"):
        from execution.docker_backend import build_image

        build_image()  # once per machine: the image is built locally, no registry
        missing = backend.unavailable_reason()
    if missing is not None:
        _unusable[name] = f"{name} unavailable: {missing[0]} (fix: {missing[1]})"
        pytest.skip(_unusable[name])
    report = asyncio.run(self_test(backend))
    if not report.ok:
        _unusable[name] = f"{name} self-test failed: {'; '.join(report.failures)}"
        pytest.skip(_unusable[name])
    return backend


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
