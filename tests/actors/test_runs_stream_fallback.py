"""A stream that follows a run on another replica falls back to the run's row when the owner goes quiet (the row
is written before the owner publishes the exit). It must then send only what the relay has not: a stream that
had relayed the output already used to send it all again from the row ("spread\\nspread\\n" in the box test)."""

from __future__ import annotations

from typing import Any

import pytest

from classroom.runs.routes import Sent, _send_finished
from classroom.tables import Run

pytestmark = pytest.mark.anyio


class Recorder:
    """Stands in for the client's socket: keeps what the stream sends through `send_json`."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_json(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


def finished_row() -> Run:
    return Run(status="finished", attempts=2, verdict="ok", exit_code=0, stdout="a\nb\n", stderr="warn\n")


async def test_after_relayed_output_the_row_adds_only_the_rest() -> None:
    sent = Sent()
    for message in ({"type": "started", "attempt": 2}, {"type": "stdout", "data": "a\n"}):
        sent.note(message)
    ws = Recorder()
    await _send_finished(ws.send_json, finished_row(), sent)
    assert [(m["type"], m.get("data")) for m in ws.sent] == [("stdout", "b\n"), ("stderr", "warn\n"), ("exit", None)]


async def test_a_retry_starts_the_count_again() -> None:
    sent = Sent()
    for message in (
        {"type": "started", "attempt": 1},
        {"type": "stdout", "data": "a\n"},
        {"type": "retry", "attempt": 1, "reason": "slot died"},
    ):
        sent.note(message)
    ws = Recorder()
    await _send_finished(ws.send_json, finished_row(), sent)
    kinds = [(m["type"], m.get("data")) for m in ws.sent]
    assert kinds == [("started", None), ("stdout", "a\nb\n"), ("stderr", "warn\n"), ("exit", None)]


async def test_with_nothing_relayed_the_row_is_the_whole_stream() -> None:
    ws = Recorder()
    await _send_finished(ws.send_json, finished_row())
    assert [m["type"] for m in ws.sent] == ["started", "stdout", "stderr", "exit"]
    assert ws.sent[-1]["verdict"] == "ok"
