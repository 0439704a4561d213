"""A finished run as the class's pages see it: the ``run`` of a ``run`` event and of a grid snapshot's ``runs``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

MAX_MESSAGE = 200


def run_event(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` has the runs table's names (``id``, ``user``, ``room``, ``verdict``, ``error_*``, ``finished_at``)."""
    message = row.get("error_message")
    finished = row.get("finished_at")
    return {
        "id": str(row["id"]),
        "user_id": None if row.get("user") is None else str(row["user"]),
        "room_id": None if row.get("room") is None else str(row["room"]),
        "verdict": row.get("verdict"),
        "error_type": row.get("error_type"),
        "error_message": None if message is None else str(message)[:MAX_MESSAGE],
        "error_line": row.get("error_line"),
        "finished_at": finished.isoformat() if isinstance(finished, datetime) else finished,
    }
