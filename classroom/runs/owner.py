"""Which class a run submitted through an API without rooms (Judge0, Piston) belongs to.

The rule of ``POST /api/runs`` holds here too: a run belongs to a class its author is a member of, so a student
removed from every class can run nothing; staff may run outside any class. Clients of those APIs cannot name a
room, so the class is the ``X-Classroom-Class`` header when sent (a class the caller is in, else 404), otherwise
a student's most recently joined class (piston-client sends no header at all). A run with a class shows in
that class's analytics; without one it is still the caller's run (their runs, audit rows).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from classroom.auth.access import class_access
from classroom.errors import Forbidden
from classroom.tables import Enrollment, User

CLASS_HEADER = "x-classroom-class"


async def class_of_run(conn: HTTPConnection, user: User) -> str | None:
    """The class id a new run of ``user`` belongs to (see the module docstring); None for staff without one."""
    named = conn.headers.get(CLASS_HEADER)
    if named:
        return str((await class_access(user, named.strip())).class_id)
    if user.role != "student":
        return None
    row = (
        await Enrollment.select(Enrollment.klass)
        .where((Enrollment.user == user.id) & Enrollment.removed_at.is_null())
        .order_by(Enrollment.created_at, ascending=False)
        .first()
        .run()
    )
    if row is None:
        raise Forbidden("a student's run needs a class: join one first (you are not a member of any)")
    return str(row["klass"])
