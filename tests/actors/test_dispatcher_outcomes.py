"""Outcomes go to analytics in batches, and a missing or failing analytics actor never hurts runs."""

from __future__ import annotations

from typing import Any

from actors.dispatcher import outcome
from actors.outcomes import OutcomeBatcher
from actors.queue import QueuedRun


def test_batches_and_drops_without_raising() -> None:
    sent: list[list[dict[str, Any]]] = []
    batcher = OutcomeBatcher(sent.append, max_batch=2)
    for i in range(5):
        batcher.add({"n": i})
    batcher.flush()
    assert [len(b) for b in sent] == [2, 2, 1] and batcher.sent == 5

    def broken(batch: list[dict[str, Any]]) -> None:
        raise RuntimeError("the analytics actor is not running")

    failing = OutcomeBatcher(broken)
    failing.add({"n": 1})
    failing.flush()
    assert failing.dropped == 1


def test_outcome_fields_match_analytics() -> None:
    from datetime import UTC, datetime

    run = QueuedRun("r", "u", "room", "class", 0, datetime.now(UTC))
    event = outcome(
        run,
        "r",
        {"verdict": "runtime_error", "error": {"type": "ValueError", "message": "m", "line": 3}, "wall_ms": 12},
    )
    assert event["user_id"] == "u" and event["class_id"] == "class" and event["room_id"] == "room"
    assert (event["error_type"], event["error_line"], event["verdict"]) == ("ValueError", 3, "runtime_error")
    try:
        from analytics.outcome import parse_outcome
    except ImportError:
        return
    parse_outcome(
        {
            **event,
            "run_id": "00000000-0000-0000-0000-000000000001",
            "user_id": "00000000-0000-0000-0000-000000000002",
            "class_id": None,
            "room_id": None,
        }
    )
