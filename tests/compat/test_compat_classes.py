"""A student's submission through the compat APIs belongs to their class (as ``POST /api/runs`` requires), so
the class's instructor sees it; ``X-Classroom-Class`` names a class explicitly, and only one the caller is in."""

from __future__ import annotations

import httpx
import judge0
import pytest
from compat_harness import Server, piston_client
from judge0.base_types import Status

pytestmark = [pytest.mark.ray, pytest.mark.sandbox, pytest.mark.slow]


def student_token(server: Server) -> tuple[str, str]:
    """A new class of the instructor, a student who joined it, and an API token the student made: (class, token)."""
    teacher = {"Authorization": f"Bearer {server.token}"}
    klass = httpx.post(f"{server.url}/api/classes", json={"name": "Compat class"}, headers=teacher).json()
    with httpx.Client(base_url=server.url) as browser:
        joined = browser.post("/api/join", json={"join_code": klass["join_code"], "name": "Sam"})
        assert joined.status_code < 300, joined.text
        csrf = browser.cookies["classroom_csrf"]
        made = browser.post("/api/api-tokens", json={"name": "judge0"}, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text
    return str(klass["id"]), made.json()["token"]


def test_a_students_submission_belongs_to_their_class(server: Server) -> None:
    class_id, token = student_token(server)
    client = judge0.Client(f"{server.url}/judge0", headers={"X-Auth-Token": token})
    result = judge0.run(client=client, source_code="print('from class')", language=judge0.PYTHON)
    assert result.status == Status.ACCEPTED
    seen = httpx.get(f"{server.url}/api/runs/{result.token}", headers={"Authorization": f"Bearer {server.token}"})
    assert seen.status_code == 200 and seen.json()["class_id"] == class_id
    ran = piston_client(f"{server.url}/piston/{token}", [{"language": "python", "code": "print('piston too')"}])
    assert ran[0]["run"]["stdout"] == "piston too\n"
    # Naming a class the student is not in is refused as an unknown class.
    other = httpx.post(
        f"{server.url}/judge0/submissions",
        json={"source_code": "print(1)", "language_id": 71},
        headers={"X-Auth-Token": token, "X-Classroom-Class": "00000000-0000-4000-8000-000000000000"},
    )
    assert other.status_code == 404 and other.json()["error"] == "no such class"
