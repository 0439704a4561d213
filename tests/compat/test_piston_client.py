"""The ``piston-client`` npm package, unchanged, against a real ``classroom serve``: its base URL carries our API
token as a path segment (it sends no header), and its defaults (``run_memory_limit: -1``, ``args: ["1","2","3"]``)
never lift our limits."""

from __future__ import annotations

import httpx
import pytest
from compat_harness import Server, piston_client

pytestmark = [pytest.mark.ray, pytest.mark.sandbox, pytest.mark.slow, pytest.mark.node]


def test_piston_client_end_to_end(server: Server) -> None:
    base = f"{server.url}/piston/{server.token}"
    runtimes, hello, stdin, args, wrong, too_big, too_long, clamped, unknown = piston_client(
        base,
        [
            {"runtimes": True},
            {"language": "python", "code": "print('hello world')"},
            {"language": "python", "code": "print(input()[::-1])", "config": {"stdin": "olleh"}},
            {"language": "python", "code": "import sys\nprint(sys.argv[1:])"},
            {"language": "python", "code": "import sys\nprint('oops', file=sys.stderr)\nsys.exit(2)"},
            {"language": "python", "code": "block = bytearray(400 * 1024 * 1024)\nprint(len(block))"},
            {"language": "python", "code": "while True:\n    pass", "config": {"runTimeout": 1500}},
            {"language": "python", "code": "print('long allowed')", "config": {"runTimeout": 600000}},
            {"language": "ruby", "code": "puts 1"},
        ],
    )
    assert runtimes[0]["language"] == "python" and runtimes[0]["version"].startswith("3.")
    assert hello["language"] == "python" and hello["run"]["stdout"] == "hello world\n"
    assert hello["run"]["code"] == 0 and hello["run"]["status"] is None
    assert stdin["run"]["stdout"] == "hello\n"
    assert args["run"]["stdout"] == "['1', '2', '3']\n"  # piston-client's default args reach the program
    assert wrong["run"]["code"] == 2 and wrong["run"]["stderr"] == "oops\n" and wrong["run"]["status"] == "RE"
    assert wrong["run"]["output"] == "oops\n"
    # run_memory_limit: -1 (the client's default) is our maximum (128 MiB here), not "unlimited".
    assert too_big["run"]["stdout"] == ""
    assert too_big["run"]["status"] in ("SG", "RE"), too_big
    assert too_long["run"]["status"] == "TO" and too_long["run"]["signal"] == "SIGKILL"
    assert clamped["run"]["stdout"] == "long allowed\n"
    assert clamped["clamped"] == {"run_timeout": {"asked": 600000, "used": 8000}}
    assert unknown == {
        "message": "ruby-* runtime is unknown",
        "error": "bad_request",
        "detail": "ruby-* runtime is unknown",
    }


def test_missing_or_bad_token(server: Server) -> None:
    missing, bad = (
        piston_client(f"{server.url}/piston", [{"runtimes": True}])[0],
        piston_client(f"{server.url}/piston/cr_wrong", [{"runtimes": True}])[0],
    )
    assert missing["error"] == "unauthenticated" and "Authorization" in missing["message"]
    assert bad == {
        "message": "unknown or revoked API token",
        "error": "unauthenticated",
        "detail": "unknown or revoked API token",
    }


def test_header_routes_and_bad_input(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    url = f"{server.url}/piston/api/v2/execute"

    def execute(body: object) -> httpx.Response:
        return httpx.post(url, json=body, headers=headers, timeout=120)

    ok = execute({"language": "py", "version": "3.x", "files": [{"name": "main.py", "content": "print(6 * 7)"}]})
    assert ok.status_code == 200 and ok.json()["run"]["stdout"] == "42\n"
    assert (
        execute({"language": "python", "version": "2.7", "files": [{"content": "print 1"}]}).json()["message"]
        == "python-2.7 runtime is unknown"
    )
    assert execute({"language": "python", "files": []}).json()["message"] == "version is required as a string"
    assert execute({"language": "python", "version": "*"}).json()["message"] == "files is required as an array"
    assert (
        execute({"language": "python", "version": "*", "files": [{"content": 1}]}).json()["message"]
        == "files[0].content is required as a string"
    )
    assert (
        execute({"language": "python", "version": "*", "files": [{"content": "1"}], "run_timeout": "x"}).json()[
            "message"
        ]
        == "If specified, run_timeout must be a number"
    )
    bad64 = execute({"language": "python", "version": "*", "files": [{"content": "@@", "encoding": "base64"}]})
    assert bad64.status_code == 400 and "not valid base64" in bad64.json()["message"]
    not_json = httpx.post(url, content=b"{", headers=headers)
    assert not_json.status_code == 400 and not_json.json()["message"].startswith("request body is not valid JSON")
    clamped = execute(
        {"language": "python", "version": "*", "files": [{"content": "print(1)"}], "run_memory_limit": 10**12}
    )
    assert clamped.headers["x-classroom-clamped"] == f"run_memory_limit={128 * 1024 * 1024};asked=1000000000000"
    assert httpx.post(url, json={}, headers={}).status_code == 401


def test_tokens_in_paths_never_reach_the_log(server: Server) -> None:
    piston_client(f"{server.url}/piston/{server.token}", [{"runtimes": True}])
    log = server.log_text()
    assert "/piston/[redacted]/api/v2/runtimes" in log
    assert server.token not in log
