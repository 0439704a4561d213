"""Matrix rows of the accounts, classes, rooms, lessons and OIDC routes (issue 3).

Policy under test (see :mod:`classroom.auth.access`): what an actor may not see at all is 404 (other classes, rooms
they are not in); what they can see but may not change is 403 (students on instructor actions).
"""

from __future__ import annotations

from authz_harness import Case, cells, everyone, signed_in
from authz_world import World

from classroom.accounts import identity
from classroom.auth.passwords import hash_password
from classroom.tables import User

B_PASSWORD = "ben-chose-a-password"


async def setup(world: World) -> None:
    """Student B set a password (issue 12: a password claims a taken name too)."""
    await (
        User.update({User.password_hash: hash_password(B_PASSWORD)}).where(User.id == world.users["student_b"].id).run()
    )


NOT_A_UUID = "not-a-uuid"


def class1(w: World) -> str:
    return f"/api/classes/{w.class1.id}"


# Instructor-only actions on class 1: students see the class (403), outsiders do not (404).
INSTRUCTORS_OF_CLASS1 = cells(
    anonymous=401, student_a=403, student_b=403, student_other=404, instructor=200, other_instructor=404, admin=200
)
MEMBERS_OF_CLASS1 = cells(
    anonymous=401, student_a=200, student_b=200, student_other=404, instructor=200, other_instructor=404, admin=200
)

ROWS = [
    Case("GET", "/api/me", signed_in(200)),
    Case("POST", "/api/tokens", signed_in(200)),
    Case("POST", "/api/api-tokens", signed_in(201), body=lambda w: {"name": "script"}),
    Case(
        "DELETE",
        "/api/api-tokens/{token_id}",
        signed_in(404, student_a=200),
        url=lambda w: f"/api/api-tokens/{w.token_a.id}",
        fresh=True,
        note="A's token",
    ),
    Case(
        "POST",
        "/api/join",
        everyone(200),
        body=lambda w: {"join_code": w.class1.join_code, "name": "Newcomer"},
        fresh=True,
    ),
    Case(
        "POST",
        "/api/join",
        cells(
            anonymous=409,
            student_a=200,
            student_b=409,
            student_other=409,
            instructor=409,
            other_instructor=409,
            admin=409,
        ),
        body=lambda w: {"join_code": w.class1.join_code, "name": " ann "},
        note="a name student A holds: only A",
    ),
    Case(
        "POST",
        "/api/join",
        cells(
            anonymous=401,
            student_a=200,
            student_b=401,
            student_other=401,
            instructor=401,
            other_instructor=401,
            admin=401,
        ),
        body=lambda w: {"join_code": w.class1.join_code, "name": "Ann", "return_code": "AAAA-BBBB"},
        note="A's name with a wrong return code",
    ),
    Case(
        "POST",
        "/api/join",
        everyone(200),
        body=lambda w: {
            "join_code": w.class1.join_code,
            "name": "Ann",
            "return_code": identity.return_code(w.settings, w.users["student_a"].id),
        },
        note="A's name with A's return code",
    ),
    Case(
        "POST",
        "/api/join",
        everyone(200),
        body=lambda w: {
            "join_code": w.class1.join_code.lower(),
            "name": "ann",
            "return_code": identity.return_code(w.settings, w.users["student_a"].id).replace("-", "").lower(),
        },
        note="A's code typed loosely",
    ),
    Case(
        "POST",
        "/api/join",
        everyone(200),
        body=lambda w: {"join_code": w.class1.join_code, "name": "Ben", "password": B_PASSWORD},
        note="B's name with B's password",
    ),
    Case("POST", "/api/login", everyone(401), body=lambda w: {"username": "nobody", "password": "wrong-password"}),
    Case("POST", "/api/logout", everyone(200)),
    Case(
        "POST",
        "/api/admin/users",
        signed_in(403, admin=201),
        body=lambda w: {"username": "newteacher", "display_name": "New", "password": "long-enough-password"},
    ),
    Case("GET", "/api/auth/config", everyone(200)),
    Case("GET", "/auth/oidc/login", everyone(404), note="OIDC not configured"),
    Case("GET", "/auth/oidc/callback", everyone(404), note="OIDC not configured"),
    Case(
        "POST",
        "/api/classes",
        signed_in(201, student_a=403, student_b=403, student_other=403),
        body=lambda w: {"name": "New class"},
    ),
    Case("GET", "/api/classes/{class_id}", MEMBERS_OF_CLASS1, url=class1),
    Case("GET", "/api/classes/{class_id}", signed_in(404), url=lambda w: f"/api/classes/{NOT_A_UUID}", note="bad id"),
    Case(
        "POST",
        "/api/classes/{class_id}/join-code",
        INSTRUCTORS_OF_CLASS1,
        url=lambda w: class1(w) + "/join-code",
    ),
    Case("GET", "/api/classes/{class_id}/roster", INSTRUCTORS_OF_CLASS1, url=lambda w: class1(w) + "/roster"),
    Case(
        "GET",
        "/api/classes/{class_id}/students/{user_id}/return-link",
        INSTRUCTORS_OF_CLASS1,
        url=lambda w: class1(w) + f"/students/{w.users['student_a'].id}/return-link",
        note="A's link",
    ),
    Case(
        "GET",
        "/api/classes/{class_id}/students/{user_id}/return-link",
        cells(
            anonymous=401,
            student_a=403,
            student_b=403,
            student_other=404,
            instructor=404,
            other_instructor=404,
            admin=404,
        ),
        url=lambda w: class1(w) + f"/students/{w.users['student_other'].id}/return-link",
        note="a student of another class",
    ),
    Case(
        "GET",
        "/api/me/return-link",
        signed_in(403, student_a=200, student_b=200, student_other=200),
        note="students only",
    ),
    Case(
        "POST",
        "/api/return",
        everyone(200),
        body=lambda w: {"token": identity.return_token(w.settings, w.users["student_a"].id)},
        note="A's link signs in as A",
    ),
    Case(
        "POST",
        "/api/return",
        everyone(200),
        body=lambda w: {"token": identity.return_token(w.settings, w.users["student_b"].id)},
        note="B's link signs in as B",
    ),
    Case(
        "POST",
        "/api/return",
        everyone(200),
        body=lambda w: {"token": identity.return_token(w.settings, w.users["student_other"].id)},
        note="a link of class 2's student",
    ),
    Case(
        "POST",
        "/api/return",
        everyone(401),
        body=lambda w: {"token": identity.return_token(w.settings, w.users["student_a"].id)[:-4] + "AAAA"},
        note="forged link",
    ),
    Case(
        "POST",
        "/api/return",
        everyone(401),
        body=lambda w: {"token": identity.return_token(w.settings, w.users["instructor"].id)},
        note="instructors have no return link",
    ),
    Case(
        "POST",
        "/api/me/password",
        signed_in(403, student_a=200, student_b=400, student_other=200),
        body=lambda w: {"password": "a-long-enough-password"},
        fresh=True,
        note="B already has one: changing it needs the current password",
    ),
    Case(
        "DELETE",
        "/api/classes/{class_id}/students/{user_id}",
        INSTRUCTORS_OF_CLASS1,
        url=lambda w: class1(w) + f"/students/{w.users['student_a'].id}",
        fresh=True,
    ),
    Case(
        "POST",
        "/api/classes/{class_id}/rooms",
        cells(
            anonymous=401,
            student_a=403,
            student_b=403,
            student_other=404,
            instructor=201,
            other_instructor=404,
            admin=201,
        ),
        url=lambda w: class1(w) + "/rooms",
        body=lambda w: {"name": "Demo", "kind": "demo"},
    ),
    Case(
        "GET",
        "/api/rooms/{room_id}",
        cells(
            anonymous=401,
            student_a=200,
            student_b=404,
            student_other=404,
            instructor=200,
            other_instructor=404,
            admin=200,
        ),
        url=lambda w: f"/api/rooms/{w.room_a.id}",
        note="A's personal room",
    ),
    Case("GET", "/api/rooms/{room_id}", MEMBERS_OF_CLASS1, url=lambda w: f"/api/rooms/{w.pair_ab.id}", note="pair"),
    Case("GET", "/api/rooms/{room_id}", MEMBERS_OF_CLASS1, url=lambda w: f"/api/rooms/{w.demo1.id}", note="demo"),
    Case("GET", "/api/rooms/{room_id}", signed_in(404), url=lambda w: f"/api/rooms/{NOT_A_UUID}", note="bad id"),
    Case("GET", "/api/lessons/{course}/{slug}", signed_in(200), url=lambda w: "/api/lessons/sample/hello"),
    Case(
        "GET", "/api/lessons/{course}/{slug}", signed_in(404), url=lambda w: "/api/lessons/sample/nope", note="missing"
    ),
]
