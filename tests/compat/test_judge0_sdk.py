"""The official Judge0 Python SDK (PyPI ``judge0``), unchanged, against a real ``classroom serve``: every
submission is a normal run through our queue and sandboxes, answered with Judge0's statuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import time

import httpx
import judge0
import pytest
from compat_harness import CALLBACK_SECRET, Server
from judge0.base_types import Status

pytestmark = [pytest.mark.ray, pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def client(server: Server) -> judge0.Client:
    return judge0.Client(f"{server.url}/judge0", headers={"X-Auth-Token": server.token})


def test_hello_world(client: judge0.Client) -> None:
    result = judge0.run(client=client, source_code="print('hello world')", language=judge0.PYTHON)
    assert result.status == Status.ACCEPTED
    assert result.stdout == "hello world\n"
    assert result.time is not None and result.time >= 0
    assert result.memory is not None and result.memory > 0


def test_stdin_and_expected_output(client: judge0.Client) -> None:
    result = judge0.run(
        client=client,
        source_code="a, b = map(int, input().split())\nprint(a + b)",
        stdin="20 22",
        expected_output="42",
        language=judge0.PYTHON,
    )
    assert result.status == Status.ACCEPTED
    assert result.stdout == "42\n"


def test_wrong_answer(client: judge0.Client) -> None:
    result = judge0.run(client=client, source_code="print(41)", expected_output="42", language=judge0.PYTHON)
    assert result.status == Status.WRONG_ANSWER
    assert result.stdout == "41\n"


def test_runtime_error_is_nzec(client: judge0.Client) -> None:
    result = judge0.run(client=client, source_code="raise SystemExit(3)", language=judge0.PYTHON)
    assert result.status == Status.RUNTIME_ERROR_NZEC
    assert result.exit_code == 3
    assert result.message == "Exited with error status 3"


def test_time_limit(client: judge0.Client) -> None:
    result = judge0.run(
        client=client, source_code="while True:\n    pass", cpu_time_limit=1, wall_time_limit=3, language=judge0.PYTHON
    )
    assert result.status == Status.TIME_LIMIT_EXCEEDED


def test_memory_limit(client: judge0.Client) -> None:
    # 64000 KB asked (below our 128 MiB maximum); the program wants 300 MB.
    result = judge0.run(
        client=client,
        source_code="block = bytearray(300 * 1024 * 1024)\nprint(len(block))",
        memory_limit=64000,
        language=judge0.PYTHON,
    )
    assert result.status in (Status.RUNTIME_ERROR_OTHER, Status.RUNTIME_ERROR_NZEC), result
    assert result.stdout is None
    if result.status == Status.RUNTIME_ERROR_OTHER:
        assert result.message == "Memory limit exceeded"
    else:  # the interpreter raised MemoryError before the cgroup killed it
        assert "MemoryError" in (result.stderr or "")


def test_batch_of_twenty(client: judge0.Client) -> None:
    submissions = [judge0.Submission(source_code=f"print({i} * {i})", language=judge0.PYTHON) for i in range(20)]
    results = judge0.run(client=client, submissions=submissions)
    assert [r.stdout for r in results] == [f"{i * i}\n" for i in range(20)]
    assert all(r.status == Status.ACCEPTED for r in results)
    assert len({str(r.token) for r in results}) == 20


def test_base64_round_trip(client: judge0.Client, server: Server) -> None:
    # The SDK always sends base64; the same submission with raw text must give the same answer.
    code = "s = input()\nprint(s[::-1], 'héllo ✓ 日本')"
    result = judge0.run(client=client, source_code=code, stdin="✓abc", language=judge0.PYTHON)
    assert result.stdout == "cba✓ héllo ✓ 日本\n"
    headers = {"X-Auth-Token": server.token}
    body = {
        "source_code": base64.b64encode(code.encode()).decode(),
        "stdin": base64.b64encode("✓abc".encode()).decode(),
        "language_id": 71,
    }
    encoded = httpx.post(
        f"{server.url}/judge0/submissions?base64_encoded=true&wait=true&fields=stdout,stdin,source_code,status",
        json=body,
        headers=headers,
        timeout=120,
    )
    assert encoded.status_code == 201, encoded.text
    got = encoded.json()
    assert base64.b64decode(got["stdout"]).decode() == "cba✓ héllo ✓ 日本\n"
    assert got["source_code"] == body["source_code"] and got["stdin"] == body["stdin"]
    assert set(got) == {"stdout", "stdin", "source_code", "status"}  # exactly the fields asked
    raw = httpx.post(
        f"{server.url}/judge0/submissions?wait=true",
        json={"source_code": code, "stdin": "✓abc", "language_id": 71},
        headers=headers,
        timeout=120,
    ).json()
    assert raw["stdout"] == "cba✓ héllo ✓ 日本\n"
    again = httpx.get(
        f"{server.url}/judge0/submissions/{raw['token']}?base64_encoded=true&fields=stdout", headers=headers
    ).json()
    assert again == {"stdout": base64.b64encode("cba✓ héllo ✓ 日本\n".encode()).decode()}


def test_a_submission_is_a_normal_run(client: judge0.Client, server: Server) -> None:
    result = judge0.run(client=client, source_code="print('audited')", language=judge0.PYTHON)
    run = httpx.get(f"{server.url}/api/runs/{result.token}", headers={"Authorization": f"Bearer {server.token}"})
    assert run.status_code == 200, run.text
    assert run.json()["verdict"] == "ok" and run.json()["stdout"] == "audited\n"
    deadline = time.monotonic() + 30
    while True:  # the audit rows are written in batches, off the hot path
        with sqlite3.connect(server.data_dir / "classroom.sqlite") as db:
            rows = db.execute("SELECT action FROM audit_log WHERE target = ?", (str(result.token),)).fetchall()
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert rows == [("run",)]


def test_others_cannot_read_a_submission(client: judge0.Client, server: Server) -> None:
    result = judge0.run(client=client, source_code="print('mine')", language=judge0.PYTHON)
    theirs = httpx.get(f"{server.url}/judge0/submissions/{result.token}", headers={"X-Auth-Token": server.other_token})
    assert theirs.status_code == 404
    assert theirs.json()["error"] == "submission not found"
    batch = httpx.get(
        f"{server.url}/judge0/submissions/batch?tokens={result.token}", headers={"X-Auth-Token": server.other_token}
    )
    assert batch.json() == {"submissions": [None]}


def test_signed_callback(server: Server) -> None:
    path = "/judge0-done/1"
    response = httpx.post(
        f"{server.url}/judge0/submissions",
        json={
            "source_code": "print('called back')",
            "language_id": 71,
            "callback_url": f"http://127.0.0.1:{server.callbacks.port}{path}",
        },
        headers={"X-Auth-Token": server.token},
    )
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    request = server.callbacks.wait_for(path)
    body: bytes = request["body"]
    header = {k.lower(): v for k, v in request["headers"].items()}["x-classroom-signature"]
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(CALLBACK_SECRET.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["sha256"], expected)
    assert abs(int(parts["t"]) - time.time()) < 120
    sent = json.loads(body)
    assert sent["token"] == token
    assert sent["status"] == {"id": 3, "description": "Accepted"}
    assert base64.b64decode(sent["stdout"]).decode() == "called back\n"


def test_about_config_statuses_languages(client: judge0.Client) -> None:
    assert client.get_about()["version"] == "1.13.1"
    assert client.config.max_submission_batch_size == 20
    assert client.config.allow_enable_network is False and client.config.enable_network is False
    assert client.config.max_cpu_time_limit == 4 and client.config.max_memory_limit == 128 * 1024
    statuses = client.get_statuses()
    assert statuses[0] == {"id": 1, "description": "In Queue"} and len(statuses) == 14
    assert [lang.id for lang in client.languages] == [71]
    assert client.languages[0].name.startswith("Python (3.")
