"""Bad input to the Judge0 API gets Judge0's own error shapes (and loses nothing: the server keeps serving)."""

from __future__ import annotations

import base64

import httpx
import judge0
import pytest
from compat_harness import Server

pytestmark = [pytest.mark.ray, pytest.mark.sandbox, pytest.mark.slow]


def post(server: Server, body: object, query: str = "", token: str | None = None) -> httpx.Response:
    headers = {} if token == "" else {"X-Auth-Token": token or server.token}
    return httpx.post(f"{server.url}/judge0/submissions{query}", json=body, headers=headers, timeout=120)


def test_unknown_language(server: Server) -> None:
    answer = post(server, {"source_code": "console.log(1)", "language_id": 63})
    assert answer.status_code == 422
    assert answer.json()["language_id"] == ["language with id 63 doesn't exist"]
    # The SDK checks /languages first and refuses on its own side.
    client = judge0.Client(f"{server.url}/judge0", headers={"X-Auth-Token": server.token})
    with pytest.raises(RuntimeError, match="does not support language"):
        judge0.run(client=client, source_code="console.log(1)", language=judge0.JAVASCRIPT)


def test_limits_above_our_maxima_are_clamped_and_reported(server: Server) -> None:
    answer = post(
        server,
        {
            "source_code": "print('ok')",
            "language_id": 71,
            "cpu_time_limit": 60,
            "wall_time_limit": 100,
            "memory_limit": 4096000,
        },
        "?wait=true&fields=status,cpu_time_limit,wall_time_limit,memory_limit",
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "status": {"id": 3, "description": "Accepted"},
        "cpu_time_limit": 4.0,
        "wall_time_limit": 8.0,
        "memory_limit": 128 * 1024,
    }
    clamped = answer.headers["x-classroom-clamped"]
    assert "cpu_time_limit=4;asked=60" in clamped and "wall_time_limit=8;asked=100" in clamped
    assert "memory_limit=131072;asked=4096000" in clamped


def test_a_clamped_limit_is_enforced(server: Server) -> None:
    answer = post(
        server,
        {"source_code": "import time\ntime.sleep(30)\nprint('too late')", "language_id": 71, "wall_time_limit": 60},
        "?wait=true&fields=status,stdout",
    )
    assert answer.json() == {"status": {"id": 5, "description": "Time Limit Exceeded"}, "stdout": None}


def test_enable_network_is_refused(server: Server) -> None:
    answer = post(server, {"source_code": "print(1)", "language_id": 71, "enable_network": True})
    assert answer.status_code == 422
    assert answer.json()["enable_network"] == ["this option cannot be enabled"]
    client = judge0.Client(f"{server.url}/judge0", headers={"X-Auth-Token": server.token})
    with pytest.raises(httpx.HTTPStatusError) as refused:
        judge0.run(client=client, source_code="print(1)", enable_network=True, language=judge0.PYTHON)
    assert refused.value.response.status_code == 422


def test_malformed_base64(server: Server) -> None:
    answer = post(server, {"source_code": "not base64!!", "language_id": 71, "stdin": "@@@"}, "?base64_encoded=true")
    assert answer.status_code == 422
    body = answer.json()
    assert body["source_code"] == ["is not valid base64 (or not UTF-8 text once decoded)"]
    assert body["stdin"] == ["is not valid base64 (or not UTF-8 text once decoded)"]
    not_utf8 = base64.b64encode(b"\xff\xfe print(1)").decode()
    assert post(server, {"source_code": not_utf8, "language_id": 71}, "?base64_encoded=true").status_code == 422


def test_missing_or_bad_token(server: Server) -> None:
    missing = post(server, {"source_code": "print(1)", "language_id": 71}, token="")
    assert missing.status_code == 401
    assert "X-Auth-Token" in missing.json()["error"]
    bad = post(server, {"source_code": "print(1)", "language_id": 71}, token="cr_not-a-real-token")
    assert bad.status_code == 401 and bad.json()["error"] == "unknown or revoked API token"
    assert httpx.get(f"{server.url}/judge0/languages").status_code == 401
    # The SDK reports a refused client as an authentication failure.
    with pytest.raises(RuntimeError, match="Authentication failed"):
        judge0.Client(f"{server.url}/judge0", headers={"X-Auth-Token": "cr_wrong"})


def test_request_level_errors(server: Server) -> None:
    headers = {"X-Auth-Token": server.token}
    blank = post(server, {"language_id": 71})
    assert blank.status_code == 422 and blank.json()["source_code"] == ["can't be blank"]
    fields = httpx.get(f"{server.url}/judge0/submissions/batch?tokens=x&fields=stdout,nope", headers=headers)
    assert fields.status_code == 400 and fields.json()["error"] == "invalid fields: [nope]"
    big = {"submissions": [{"source_code": "print(1)", "language_id": 71}] * 21}
    too_many = httpx.post(f"{server.url}/judge0/submissions/batch", json=big, headers=headers)
    assert too_many.status_code == 400
    assert too_many.json()["error"] == "number of submissions in a batch should be less than or equal to 20"
    empty = httpx.post(f"{server.url}/judge0/submissions/batch", json={"submissions": []}, headers=headers)
    assert empty.status_code == 400
    tokens = ",".join(["x"] * 21)
    assert httpx.get(f"{server.url}/judge0/submissions/batch?tokens={tokens}", headers=headers).status_code == 400
    assert httpx.get(f"{server.url}/judge0/submissions/not-a-token", headers=headers).status_code == 404
    not_json = httpx.post(
        f"{server.url}/judge0/submissions", content=b"{nope", headers={**headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["error"] == "bad_request"
    assert not_json.json()["detail"].startswith("body is not valid JSON")
    callback = post(server, {"source_code": "print(1)", "language_id": 71, "callback_url": "http://10.0.0.1/hook"})
    assert callback.status_code == 422
    assert callback.json()["callback_url"] == ["host 10.0.0.1 is not allowed for callbacks"]


def test_a_batch_answers_each_item(server: Server) -> None:
    items = [
        {"source_code": "print('fine')", "language_id": 71},
        {"source_code": "print(1)", "language_id": 999},
        {"source_code": "print(1)", "language_id": 71, "enable_network": True},
    ]
    answer = httpx.post(
        f"{server.url}/judge0/submissions/batch", json={"submissions": items}, headers={"X-Auth-Token": server.token}
    )
    assert answer.status_code == 201
    first, second, third = answer.json()
    assert set(first) == {"token"}
    assert second == {"language_id": ["language with id 999 doesn't exist"]}
    assert third == {"enable_network": ["this option cannot be enabled"]}
    # ...and the server keeps serving.
    assert httpx.get(f"{server.url}/healthz").status_code == 200
