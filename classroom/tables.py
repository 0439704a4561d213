"""The database schema (piccolo), designed for the whole mission: people, classes, rooms, documents, runs,
lessons, analytics and the audit trail.

Conventions: primary keys are random UUIDs (ids appear in URLs and must not be guessable or enumerable);
times are timezone-aware UTC; text enums are validated at the edge and listed in ``*_KINDS`` tuples here.
The engine is bound at start-up by :func:`classroom.db.bind` (SQLite by default, PostgreSQL in production).
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    OnDelete,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

ROLES = ("admin", "instructor", "student")
ROOM_KINDS = ("personal", "pair", "demo")
MEMBER_ROLES = ("writer", "viewer")
RUN_STATUSES = ("queued", "running", "finished")
FORK_MODES = ("add", "replace", "rename")
RUN_KINDS = ("run", "grade")  # a grade run ("check") runs a lesson's hidden tests against the files
VERDICTS = ("ok", "runtime_error", "time_limit", "memory_limit", "output_limit", "cancelled", "internal_error")


class User(Table, tablename="users"):
    """A person. Students are created by joining a class; instructors by an admin, OIDC or the CLI."""

    id = UUID(primary_key=True)
    role = Varchar(length=16, default="student", index=True)
    display_name = Varchar(length=80)
    # Unique sign-in name for password accounts (instructors, admins); null for students who joined by code.
    username = Varchar(length=120, null=True, default=None, unique=True)
    email = Varchar(length=254, null=True, default=None)
    password_hash = Text(null=True, default=None)
    # A linked OpenID Connect identity: (issuer, subject) is unique across users.
    oidc_issuer = Varchar(length=255, null=True, default=None)
    oidc_subject = Varchar(length=255, null=True, default=None, index=True)
    disabled = Boolean(default=False)
    created_at = Timestamptz()


class ApiToken(Table, tablename="api_tokens"):
    """A long-lived token for scripts. Only a SHA-256 of the token is stored."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=80)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked = Boolean(default=False)


class Class(Table, tablename="classes"):
    """A class: an instructor's group of students with a join code."""

    id = UUID(primary_key=True)
    name = Varchar(length=120)
    owner = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    join_code = Varchar(length=16, unique=True)
    course = Varchar(length=120, null=True, default=None)
    archived = Boolean(default=False)
    created_at = Timestamptz()


class Enrollment(Table, tablename="enrollments"):
    """A user's membership of a class, with their role in it (``student`` or ``instructor``)."""

    id = UUID(primary_key=True)
    klass = ForeignKey(Class, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=16, default="student")
    created_at = Timestamptz()
    removed_at = Timestamptz(null=True, default=None)


class Room(Table, tablename="rooms"):
    """A shared coding space of a class: personal (one student), pair (2–3) or demo (instructor writes)."""

    id = UUID(primary_key=True)
    klass = ForeignKey(Class, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=120)
    kind = Varchar(length=16, default="personal")
    created_by = ForeignKey(User, on_delete=OnDelete.restrict)
    lesson = Varchar(length=200, null=True, default=None)  # course/lesson slug shown beside the editor
    created_at = Timestamptz()
    archived = Boolean(default=False)


class RoomMember(Table, tablename="room_members"):
    """Who may open a room and whether they may write. Instructors of the class need no row."""

    id = UUID(primary_key=True)
    room = ForeignKey(Room, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=16, default="writer")
    created_at = Timestamptz()


class DocumentUpdate(Table, tablename="document_updates"):
    """The durable log of a room's Yjs updates, in arrival order (``seq`` grows per room)."""

    id = UUID(primary_key=True)
    room = ForeignKey(Room, on_delete=OnDelete.cascade, index=True)
    seq = BigInt(index=True)
    data = Bytea()
    created_at = Timestamptz()


class DocumentSnapshot(Table, tablename="document_snapshots"):
    """A compacted room document: the full state as of update ``upto_seq`` (inclusive)."""

    id = UUID(primary_key=True)
    room = ForeignKey(Room, on_delete=OnDelete.cascade, index=True)
    upto_seq = BigInt()
    state = Bytea()
    state_vector = Bytea()
    created_at = Timestamptz()


class Lesson(Table, tablename="lessons"):
    """One imported version of a lesson (Markdown with front matter). Re-importing changed text adds a version."""

    id = UUID(primary_key=True)
    course = Varchar(length=120, index=True)
    slug = Varchar(length=200, index=True)
    version = Integer(default=1)
    position = Integer(default=0)
    title = Varchar(length=200)
    body = Text()
    starter_files = JSON(default={})
    hidden_tests = Text(default="")  # JSON list of {name, code, points, message}; never sent to a browser
    points = Integer(default=0)
    hints = JSON(default=[])
    hint_after = Integer(default=2)  # hint k is shown after k * hint_after failed checks
    content_hash = Varchar(length=64)
    created_at = Timestamptz()


class Run(Table, tablename="runs"):
    """One execution request and, once finished, its single final result. The source of truth of the queue."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    klass = ForeignKey(Class, on_delete=OnDelete.set_null, null=True, index=True)
    room = ForeignKey(Room, on_delete=OnDelete.set_null, null=True, index=True)
    exercise = Varchar(length=200, null=True, default=None)
    status = Varchar(length=16, default="queued", index=True)
    priority = Integer(default=0)  # higher runs first (an instructor's demo run)
    attempts = Integer(default=0)
    # What ran: the files, entry point, stdin, args and the document's state vector at submission.
    files = JSON(default={})
    entry = Varchar(length=255, default="main.py")
    stdin = Text(default="")
    args = JSON(default=[])
    language = Varchar(length=32, default="python")
    code_hash = Varchar(length=64, default="")
    state_vector = Bytea(null=True, default=None)
    # The result, written once when the run finishes.
    verdict = Varchar(length=32, null=True, default=None)
    exit_code = Integer(null=True, default=None)
    signal = Integer(null=True, default=None)
    stdout = Text(default="")
    stderr = Text(default="")
    stdout_truncated = Boolean(default=False)
    stderr_truncated = Boolean(default=False)
    wall_ms = Integer(null=True, default=None)
    cpu_ms = Integer(null=True, default=None)
    peak_memory_bytes = BigInt(null=True, default=None)
    error_type = Varchar(length=120, null=True, default=None)
    error_message = Text(null=True, default=None)
    error_line = Integer(null=True, default=None)
    internal_reason = Text(null=True, default=None)
    # A check (kind "grade") runs the hidden tests of ``lesson`` (the version current at submission);
    # ``grade`` is the report ({loaded, error, tests: [{name, passed, message, points}]}), ``score`` the
    # fraction (0..1) of the lesson's points it earned.
    kind = Varchar(length=16, default="run", index=True)
    lesson = ForeignKey(Lesson, on_delete=OnDelete.set_null, null=True)
    grade = JSON(null=True, default=None)
    score = Real(null=True, default=None)
    slot = Varchar(length=120, null=True, default=None)
    created_at = Timestamptz(index=True)
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    lease_expires_at = Timestamptz(null=True, default=None)


class Judge0Submission(Table, tablename="judge0_submissions"):
    """What a Judge0-API submission adds to its run (``classroom.judge0``): the token is the run's id."""

    id = UUID(primary_key=True)  # the run's id, which is the submission's Judge0 token
    run = ForeignKey(Run, on_delete=OnDelete.cascade, index=True)
    language_id = Integer(default=71)
    expected_output = Text(null=True, default=None)
    # The effective request as Judge0 reports it back: limits after clamping, arguments, flags.
    options = JSON(default={})
    callback_url = Text(null=True, default=None)
    callback_status = Varchar(length=16, null=True, default=None)  # pending, sent or failed
    created_at = Timestamptz()


class Fork(Table, tablename="forks"):
    """A copy of a demo room's files into a student's room: which demo state it came from, and where it went."""

    id = UUID(primary_key=True)
    source = ForeignKey(Room, on_delete=OnDelete.cascade, index=True)  # the demo room
    target = ForeignKey(Room, on_delete=OnDelete.cascade, index=True)  # the student's personal room
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)  # whose room received it
    actor = ForeignKey(User, on_delete=OnDelete.set_null, null=True)  # who forked (the student or the instructor)
    mode = Varchar(length=16, default="add")  # add, replace or rename (FORK_MODES)
    state_vector = Bytea()  # the demo document's Yjs state vector at the moment of the copy
    files = JSON(default={})  # demo file name -> name it got in the target room
    created_at = Timestamptz(index=True)


class HelpRequest(Table, tablename="help_requests"):
    """The raise-hand queue of a class."""

    id = UUID(primary_key=True)
    klass = ForeignKey(Class, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade)
    room = ForeignKey(Room, on_delete=OnDelete.set_null, null=True)
    note = Text(default="")
    # Where the student's cursor was when they raised their hand (the instructor jumps there).
    cursor_file = Varchar(length=255, null=True, default=None)
    cursor_line = Integer(null=True, default=None)
    created_at = Timestamptz()
    resolved_at = Timestamptz(null=True, default=None)
    resolved_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)


class AnalyticsEvent(Table, tablename="analytics_events"):
    """One run outcome as the analytics actor saw it (the raw material of dashboards)."""

    id = UUID(primary_key=True)
    klass = ForeignKey(Class, on_delete=OnDelete.cascade, null=True, index=True)
    room = ForeignKey(Room, on_delete=OnDelete.set_null, null=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=True, index=True)
    run = ForeignKey(Run, on_delete=OnDelete.cascade, null=True)
    exercise = Varchar(length=200, null=True, default=None)
    kind = Varchar(length=32, default="run")
    verdict = Varchar(length=32, null=True, default=None)
    error_key = Varchar(length=300, null=True, default=None)  # type + normalised message + line
    payload = JSON(default={})
    created_at = Timestamptz(index=True)


class AnalyticsAggregate(Table, tablename="analytics_aggregates"):
    """Per class and exercise (and error key) counters persisted by the analytics actor."""

    id = UUID(primary_key=True)
    klass = ForeignKey(Class, on_delete=OnDelete.cascade, null=True, index=True)
    exercise = Varchar(length=200, null=True, default=None)
    error_key = Varchar(length=300, null=True, default=None)
    runs = Integer(default=0)
    failures = Integer(default=0)
    users = Integer(default=0)
    data = JSON(default={})
    updated_at = Timestamptz()


class AuditLog(Table, tablename="audit_log"):
    """Who did what, when and from where: sign-ins, joins, runs, removals, token use."""

    id = UUID(primary_key=True)
    actor = ForeignKey(User, on_delete=OnDelete.set_null, null=True, index=True)
    action = Varchar(length=64, index=True)
    klass = ForeignKey(Class, on_delete=OnDelete.set_null, null=True)
    target = Varchar(length=120, null=True, default=None)
    ip = Varchar(length=64, null=True, default=None)
    detail = JSON(default={})
    created_at = Timestamptz(index=True)


TABLES: tuple[type[Table], ...] = (
    User,
    ApiToken,
    Class,
    Enrollment,
    Room,
    RoomMember,
    DocumentUpdate,
    DocumentSnapshot,
    Lesson,
    Run,
    Judge0Submission,
    Fork,
    HelpRequest,
    AnalyticsEvent,
    AnalyticsAggregate,
    AuditLog,
)
