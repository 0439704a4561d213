"""Submissions through the Judge0 and Piston APIs count against the same per-user run limit as our own API
(``CLASSROOM_RUNS_PER_MINUTE``), and the refusal comes in each API's error shape with ``Retry-After``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from compat_harness import Server, start_server, stop_server

pytestmark = [pytest.mark.ray, pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    proc, server = start_server(tmp_path_factory.mktemp("limited"), runs_per_minute="3")
    try:
        yield server
    finally:
        stop_server(proc, server)


def test_one_limit_across_all_three_apis(limited: Server) -> None:
    judge0 = {"X-Auth-Token": limited.token}
    bearer = {"Authorization": f"Bearer {limited.token}"}
    code = {"source_code": "print(1)", "language_id": 71}
    piston = {"language": "python", "version": "*", "files": [{"content": "print(1)"}]}
    assert httpx.post(f"{limited.url}/api/runs", json={"code": "print(1)"}, headers=bearer).status_code == 202
    assert httpx.post(f"{limited.url}/judge0/submissions", json=code, headers=judge0).status_code == 201
    assert (
        httpx.post(f"{limited.url}/piston/api/v2/execute", json=piston, headers=bearer, timeout=60).status_code == 200
    )
    refused = httpx.post(f"{limited.url}/judge0/submissions", json=code, headers=judge0)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "error" in refused.json()
    refused = httpx.post(f"{limited.url}/piston/{limited.token}/api/v2/execute", json=piston, timeout=60)
    assert refused.status_code == 429 and "message" in refused.json()
    # Another user has a limit of their own.
    other = httpx.post(f"{limited.url}/judge0/submissions", json=code, headers={"X-Auth-Token": limited.other_token})
    assert other.status_code == 201
