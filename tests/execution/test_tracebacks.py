from __future__ import annotations

from execution.tracebacks import parse_python_error


def test_innermost_user_frame_is_reported() -> None:
    err = parse_python_error(
        "out\nTraceback (most recent call last):\n"
        '  File "/work/main.py", line 3, in <module>\n    f()\n'
        '  File "/work/lib/util.py", line 7, in f\n    1/0\n'
        '  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads\n    x\n'
        "ZeroDivisionError: division by zero\n"
    )
    assert err is not None
    assert (err.type, err.message, err.file, err.line) == ("ZeroDivisionError", "division by zero", "lib/util.py", 7)


def test_syntax_error_without_traceback_header() -> None:
    err = parse_python_error(
        "  File \"/work/main.py\", line 2\n    def f(\n         ^\nSyntaxError: '(' was never closed\n"
    )
    assert err is not None
    assert (err.type, err.line, err.file) == ("SyntaxError", 2, "main.py")


def test_exception_without_message_and_dotted_type() -> None:
    err = parse_python_error(
        'Traceback (most recent call last):\n  File "/work/main.py", line 1, in <module>\n'
        "    raise mod.Custom\nmod.Custom\n"
    )
    assert err is not None
    assert (err.type, err.message) == ("mod.Custom", "")


def test_last_traceback_wins_and_none_when_absent() -> None:
    assert parse_python_error("hello\nworld\n") is None
    two = (
        'Traceback (most recent call last):\n  File "/work/a.py", line 1, in <module>\nKeyError: 1\n'
        'During handling...\nTraceback (most recent call last):\n  File "/work/b.py", line 9, in <module>\n'
        "ValueError: bad\n"
    )
    err = parse_python_error(two)
    assert err is not None
    assert (err.type, err.file, err.line) == ("ValueError", "b.py", 9)
