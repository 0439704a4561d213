"""Credentials never reach a log line.

Browsers can only pass a WebSocket's credentials in its URL (``/collab/ROOM?token=JWT``), and uvicorn's access log
prints URLs; API tokens may travel in paths too (clients that send no header). :func:`install_redaction` installs a
log record factory, so every record of every logger — ours, uvicorn's, a library's — has its message and string
arguments redacted when it is made, before any handler or formatter sees it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from classroom.auth.tokens import API_TOKEN_PREFIX

REDACTED = "[redacted]"
_SECRETS = re.compile(
    # a credential in a query string, whatever it holds
    r"(?P<param>[?&](?:token|access_token|api_key|auth)=)[^&\s\"']+"
    # a JWT anywhere (three base64url parts, the first a JSON header: '{"' is 'eyJ')
    r"|eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]+"
    # an API token of this server anywhere (paths included)
    rf"|{re.escape(API_TOKEN_PREFIX)}[\w-]{{16,}}"
    # whatever credential a Piston base URL carries (/piston/TOKEN/api/...): the admin token has no fixed shape
    r"|(?P<segment>/piston/)[^/?#\s\"']+(?=/api/)"
)


def redact(text: str) -> str:
    """``text`` with every credential replaced by :data:`REDACTED`."""
    return _SECRETS.sub(lambda m: (m.group("param") or m.group("segment") or "") + REDACTED, text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def install_redaction() -> None:
    """Redact every log record made from now on in this process (idempotent)."""
    make = logging.getLogRecordFactory()
    if getattr(make, "redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.msg = _clean(record.msg)
        if isinstance(record.args, tuple):
            # Kept a tuple of the same length: uvicorn's access formatter reads its arguments by position.
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
