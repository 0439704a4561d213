from __future__ import annotations

from execution.output import TAIL_BYTES, OutputCapture


def test_budget_is_shared_and_bounded() -> None:
    cap = OutputCapture(budget=10)
    assert cap.feed("stdout", b"123456") == b"123456"
    assert cap.feed("stderr", b"abcdef") == b"abcd"
    assert cap.exceeded and cap.streams["stderr"].truncated and not cap.streams["stdout"].truncated
    for _ in range(1000):
        assert cap.feed("stdout", b"x" * 65536) == b""
    assert len(cap.streams["stdout"].head) == 6
    assert len(cap.streams["stdout"].tail) <= TAIL_BYTES


def test_tail_keeps_the_end_for_tracebacks() -> None:
    cap = OutputCapture(budget=4)
    cap.feed("stderr", b"x" * 100_000 + b"\nValueError: end\n")
    assert cap.streams["stderr"].tail_text().endswith("ValueError: end\n")
    assert cap.streams["stderr"].text() == "xxxx"


def test_invalid_utf8_is_replaced() -> None:
    cap = OutputCapture(budget=100)
    cap.feed("stdout", b"caf\xc3")
    assert cap.streams["stdout"].text() == "caf\ufffd"
