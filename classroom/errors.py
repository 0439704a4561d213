"""The edge's typed exceptions. Each carries the HTTP status and WebSocket close code it maps to.

Libraries and actors raise their own typed errors; :mod:`classroom.http` maps both trees to responses in one
place. A user's failing program is never an exception (it is a run verdict).
"""

from __future__ import annotations


class ClassroomError(Exception):
    """Base of every error the edge answers with a JSON ``{error, detail}`` body."""

    status = 500
    close_code = 1011
    code = "internal_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SettingsError(ClassroomError):
    """A ``CLASSROOM_*`` value is invalid; the message is one line naming the variable and what is allowed."""

    code = "bad_setting"


class BadRequest(ClassroomError):
    status = 400
    close_code = 4400
    code = "bad_request"


class Unauthenticated(ClassroomError):
    status = 401
    close_code = 4401
    code = "unauthenticated"


class Forbidden(ClassroomError):
    status = 403
    close_code = 4403
    code = "forbidden"


class NotFound(ClassroomError):
    status = 404
    close_code = 4404
    code = "not_found"


class Conflict(ClassroomError):
    status = 409
    close_code = 4409
    code = "conflict"


class PayloadTooLarge(ClassroomError):
    status = 413
    close_code = 1009
    code = "payload_too_large"


class RateLimited(ClassroomError):
    status = 429
    close_code = 4429
    code = "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(ClassroomError):
    status = 503
    close_code = 1013
    code = "unavailable"


def close_reason(text: str) -> str:
    """``text`` cut to what a WebSocket close frame carries (123 bytes of UTF-8), on a character boundary: a longer
    reason makes the close itself fail, and the socket drops with no code at all."""
    return text.encode()[:123].decode(errors="ignore")
