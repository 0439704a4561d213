"""Find the exception that ended a Python program, and the line of the user's own frame, in its stderr."""

from __future__ import annotations

import re

from execution.types import PythonError

_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+)')
_EXC = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")


def parse_python_error(stderr: str, workdir: str = "/work") -> PythonError | None:
    """Parse the last traceback in ``stderr``; locate its innermost frame inside ``workdir``.

    Handles ordinary tracebacks and the caret form of ``SyntaxError``. Returns ``None`` if there is none.
    Output is the user's to forge: this is for display and analytics, never for a security decision.
    """
    lines = stderr.splitlines()
    start = None
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Traceback (most recent call last):") or (
            _FRAME.match(lines[i])
            and (i == 0 or not lines[i - 1].startswith("  "))
            and not lines[i - 1].startswith("Traceback")
        ):
            start = i
            break
    if start is None:
        return None
    file = line = None
    exc_type = message = None
    for text in lines[start:]:
        m = _FRAME.match(text)
        if m:
            if m["file"].startswith(workdir.rstrip("/") + "/"):
                file, line = m["file"][len(workdir.rstrip("/")) + 1 :], int(m["line"])
            continue
        if text.startswith((" ", "\t", "Traceback")) or not text:
            continue
        e = _EXC.match(text)
        if e and (
            e["type"].endswith(("Error", "Exception", "Exit", "Interrupt", "Warning"))
            or e["type"] in ("StopIteration", "GeneratorExit", "KeyboardInterrupt")
            or "." in e["type"]
            or e["msg"] is not None
        ):
            exc_type, message = str(e["type"]), str(e["msg"] or "")
    assert message is not None
    if exc_type is None:
        return None
    return PythonError(type=exc_type, message=message, line=line, file=file)
