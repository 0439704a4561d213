# ruff: noqa: SIM105  (runs in the box: standard library only, defensive against the program it tests)
"""In-box grader: hidden tests run in the box's init, the student's program in its child, apart.

Two halves, one per process, joined by two pipes created before the child was forked:

- :func:`serve` runs in the **student's process** (pid 2, ordinary) after the program was loaded as ``__main__``:
  it answers requests (``get`` a global, ``call`` a function, ``run`` the program again with stdin, ``output``
  of the load) with values encoded as plain JSON. It never sees a test: only the arguments of each call.
- :func:`grade` runs in the **init** (pid 1, not dumpable, so the program cannot read its memory or fds). Only
  once the program reports it loaded does the init ask the host for the hidden tests (``fetch_tests``): they
  enter the box then, on the box's stdin, which the program no longer holds (it was pointed at ``/dev/null``
  before the program's code ran), and a program that fails to load never gets them into the box at all. They
  run here with ``main`` (and ``import main``) standing for the student's module, and each verdict is decided
  here. The report leaves on the init's own status channel, never stdout.

Whatever the program does, it can only answer questions: a value it returns crosses as JSON data (no object
with a forged ``__eq__``), a function that hangs times out, a program that exits fails every remaining test.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
import types
from collections.abc import Callable
from typing import Any

MAX_MESSAGE = 400
MAX_REPLY = 1 << 20
MAX_CAPTURE = 64 * 1024


# -- values as plain JSON ---------------------------------------------------------------------------------------


def encode(value: Any, depth: int = 0) -> Any:
    """A value as JSON data, by its exact type (a subclass of ``str`` with a rigged ``__eq__`` is opaque)."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if value == value and abs(value) != float("inf") else {"$f": repr(value)}
    if depth > 20:
        return {"$r": "...", "$type": kind.__name__}
    if kind is list:
        return [encode(v, depth + 1) for v in value[:10000]]
    if kind is tuple:
        return {"$t": [encode(v, depth + 1) for v in value[:10000]]}
    if kind in (set, frozenset):
        return {"$s": [encode(v, depth + 1) for v in list(value)[:10000]]}
    if kind is dict:
        return {"$d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in list(value.items())[:10000]]}
    try:
        text = repr(value)[:200]
    except Exception:
        text = "<unprintable>"
    return {"$r": text, "$type": kind.__name__}


class Opaque:
    """A value of the student's that has no plain form (an instance of their class): equal to nothing."""

    def __init__(self, text: str, type_name: str) -> None:
        self.text, self.type_name = text, type_name

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def decode(data: Any) -> Any:
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        if "$t" in data:
            return tuple(decode(v) for v in data["$t"])
        if "$s" in data:
            items = [decode(v) for v in data["$s"]]
            try:
                return set(items)
            except TypeError:
                return Opaque(repr(items), "set")
        if "$d" in data:
            try:
                return {decode(k): decode(v) for k, v in data["$d"]}
            except TypeError:
                return Opaque("{...}", "dict")
        if "$f" in data:
            return float(str(data["$f"]))
        return Opaque(str(data.get("$r", "?")), str(data.get("$type", "object")))
    return data


# -- line-delimited JSON over a pipe ------------------------------------------------------------------------------


class Channel:
    """JSON messages, one per line, read from ``rfd`` and written to ``wfd``."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        self.buf = b""

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        while data:
            data = data[os.write(self.wfd, data) :]

    def receive(self, deadline: float | None = None) -> dict[str, Any] | None:
        """The next message; None at end of stream. ``TimeoutError`` past ``deadline`` (monotonic)."""
        while b"\n" not in self.buf:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.rfd], [], [], left)[0]:
                    raise TimeoutError
            chunk = os.read(self.rfd, 65536)
            if not chunk:
                return None
            self.buf += chunk
            if len(self.buf) > MAX_REPLY and b"\n" not in self.buf:
                raise ValueError("reply too large")
        line, self.buf = self.buf.split(b"\n", 1)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ValueError("not a message")
        return message


# -- the student's side --------------------------------------------------------------------------------------------


class Tee:
    """The program's stdout while it is graded: written through to the console and recorded for the tests."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.size = stream, 0
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        if self.size < MAX_CAPTURE:
            self.parts.append(text[: MAX_CAPTURE - self.size])
            self.size += len(text)
        return int(self.stream.write(text))

    def take(self) -> str:
        text, self.parts, self.size = "".join(self.parts), [], 0
        return text

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _error(exc: BaseException, workdir: str) -> dict[str, Any]:
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(workdir + "/"):
            line = tb.tb_lineno
        tb = tb.tb_next
    try:
        text = str(exc)
    except Exception:
        text = ""
    return {"ok": False, "type": type(exc).__name__, "error": text[:MAX_MESSAGE], "line": line}


def load_and_serve(entry: str, workdir: str, chan: Channel) -> int:
    """Run the program as ``__main__`` (its prints reach the console), report how that went, then answer the
    grader until it hangs up. Returns the exit code for the stub."""
    import io
    import runpy

    tee = Tee(sys.stdout)
    sys.stdout = tee
    try:
        namespace = runpy.run_path(entry, run_name="__main__")
    except SystemExit as e:
        if e.code not in (None, 0):
            chan.send({"op": "loaded", "ok": False, "type": "SystemExit", "error": f"exit({e.code!r})", "line": None})
            return 1
        namespace = {}
    except BaseException as e:
        import traceback

        tb = e.__traceback__
        while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(workdir + "/"):
            tb = tb.tb_next
        try:
            sys.stdout.flush()
            traceback.print_exception(type(e), e, tb, file=sys.__stderr__)
        except Exception:
            pass
        chan.send({"op": "loaded", **_error(e, workdir)})
        return 1
    loaded_output = tee.take()
    chan.send({"op": "loaded", "ok": True})
    while True:
        try:
            req = chan.receive()
        except (OSError, ValueError):
            return 0
        if req is None:
            return 0
        op = req.get("op")
        reply: dict[str, Any] = {"ok": True}
        try:
            if op == "output":
                reply["value"] = loaded_output
            elif op == "get":
                value = namespace.get(str(req["name"]))
                if str(req["name"]) not in namespace:
                    reply = {"ok": False, "type": "NameError", "error": f"name {req['name']!r} is not defined"}
                elif callable(value):
                    reply["callable"] = True
                else:
                    reply["value"] = encode(value)
            elif op == "call":
                fn = namespace.get(str(req["name"]))
                args = decode(req.get("args", []))
                kwargs = decode({"$d": req.get("kwargs", [])})
                tee.take()
                value = fn(*args, **kwargs)  # type: ignore[misc]
                reply["value"] = encode(value)
                reply["printed"] = tee.take()
            elif op == "run":
                old_in = sys.stdin
                sys.stdin = io.StringIO(str(req.get("stdin", "")))
                tee.take()
                try:
                    runpy.run_path(entry, run_name="__main__")
                except SystemExit:
                    pass
                finally:
                    sys.stdin = old_in
                reply["printed"] = tee.take()
        except BaseException as e:
            reply = _error(e, workdir)
            reply["printed"] = tee.take()
        try:
            sys.stdout.flush()
            chan.send(reply)
        except OSError:
            return 0


# -- the grader's side (in the init) -------------------------------------------------------------------------------


class Failed(AssertionError):
    """A test's check did not hold; the message is for the student."""


class StudentError(Exception):
    """The student's code raised while a test called it."""


class StudentGone(Exception):
    """The student's program ended or stopped answering: every remaining test fails with this message."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def expect(got: Any, want: Any, what: str = "") -> None:
    """Pass if ``got == want`` (a bool is not taken for 1); else fail with "expected ..., got ..."."""
    same = type(got) is type(want) or not (isinstance(got, bool) or isinstance(want, bool))
    if not (same and got == want):
        label = f"{what}: " if what else ""
        raise Failed(f"{label}expected {_short(want)}, got {_short(got)}")


class Remote:
    """The student's program as seen from a test: ``main.area(3, 4)`` is a call in the student's process."""

    def __init__(self, chan: Channel, child: int, call_seconds: float) -> None:
        self.chan, self.child, self.call_seconds = chan, child, call_seconds
        self.gone: str = ""
        self.last_printed = ""

    def ask(self, request: dict[str, Any], what: str) -> dict[str, Any]:
        if self.gone:
            raise StudentGone(self.gone)
        try:
            self.chan.send(request)
            reply = self.chan.receive(time.monotonic() + self.call_seconds)
        except TimeoutError:
            self.stop(f"{what} did not finish within {self.call_seconds:g} s (an endless loop?)")
            raise StudentGone(self.gone) from None
        except (OSError, ValueError):
            reply = None
        if reply is None:
            self.stop(f"your program ended while {what} was running")
            raise StudentGone(self.gone)
        self.last_printed = str(reply.get("printed", ""))
        if not reply.get("ok"):
            line = f" (line {reply['line']})" if reply.get("line") else ""
            raise StudentError(f"{what} raised {reply.get('type')}: {reply.get('error')}{line}")
        return reply

    def stop(self, reason: str) -> None:
        self.gone = reason
        try:
            os.kill(self.child, 9)
        except OSError:
            pass


class RemoteFunction:
    def __init__(self, remote: Remote, name: str) -> None:
        self.remote, self.name = remote, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        shown = ", ".join([*(_short(a) for a in args), *(f"{k}={_short(v)}" for k, v in kwargs.items())])
        what = f"{self.name}({shown})"
        reply = self.remote.ask(
            {"op": "call", "name": self.name, "args": encode(list(args)), "kwargs": encode(kwargs)["$d"]}, what
        )
        return decode(reply.get("value"))

    def __repr__(self) -> str:
        return f"<function {self.name}>"


def _module(remote: Remote, name: str) -> types.ModuleType:
    class StudentModule(types.ModuleType):
        def __getattr__(self, attr: str) -> Any:
            if attr.startswith("__"):
                raise AttributeError(attr)
            try:
                reply = remote.ask({"op": "get", "name": attr}, f"reading {attr}")
            except StudentError:
                raise Failed(f"your program does not define {attr!r}") from None
            return RemoteFunction(remote, attr) if reply.get("callable") else decode(reply.get("value"))

    return StudentModule(name)


def read_message(fd: int, deadline: float) -> Any:
    """One ``<length>\\n<json>`` message from ``fd`` (read exactly, never past it); ``TimeoutError`` past
    ``deadline`` (monotonic), ``EOFError`` if the stream ends first."""

    def take(n: int) -> bytes:
        data = b""
        while len(data) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    header = b""
    while not header.endswith(b"\n"):
        header += take(1)
        if len(header) > 20:
            raise ValueError("bad header")
    return json.loads(take(int(header)))


def grade(spec: dict[str, Any], chan: Channel, child: int, fetch_tests: Callable[[], list[Any]]) -> dict[str, Any]:
    """Wait for the program to load, then fetch the hidden tests and run each one; the report (no test text in
    it). ``spec`` says how many tests there are (``count``) and how long the program may take."""
    count = int(spec.get("count") or 0)
    call_seconds = float(spec.get("call_seconds", 2.0))
    entry_module = str(spec.get("module") or "main")
    remote = Remote(chan, child, call_seconds)
    try:
        loaded = chan.receive(time.monotonic() + float(spec.get("load_seconds", call_seconds)))
    except TimeoutError:
        remote.stop(f"your program did not finish loading within {spec.get('load_seconds', call_seconds)} s")
        loaded = {"ok": False, "error": remote.gone}
    except (OSError, ValueError):
        loaded = None
    if not loaded or not loaded.get("ok"):
        if not loaded:
            reason = "your program ended before it could be tested"
        elif loaded.get("type"):
            line = f" on line {loaded['line']}" if loaded.get("line") else ""
            reason = (
                f"your program stopped with {loaded['type']}: {loaded.get('error')}{line} before it could be tested"
            )
        else:
            reason = str(loaded.get("error"))
        return {"loaded": False, "error": reason[:MAX_MESSAGE], "results": [[False, reason[:MAX_MESSAGE]]] * count}
    try:
        tests = list(fetch_tests())
    except (TimeoutError, EOFError, OSError, ValueError) as e:
        remote.stop("the hidden tests did not arrive")
        reason = f"the hidden tests did not arrive ({type(e).__name__})"
        return {"loaded": False, "error": reason, "results": [[False, reason]] * count}
    module = _module(remote, entry_module)
    sys.modules[entry_module] = module
    sys.modules["student"] = module

    def output() -> str:
        """What the program printed while it ran as ``__main__``."""
        return str(remote.ask({"op": "output"}, "reading the output").get("value", ""))

    def run(stdin: str = "") -> str:
        """Run the whole program again with ``stdin``; what it printed."""
        remote.ask({"op": "run", "stdin": stdin}, "your program")
        return remote.last_printed

    def printed() -> str:
        """What the last call printed."""
        return remote.last_printed

    results: list[list[Any]] = []
    for test in tests:
        scope = {"__name__": "hidden_test", "main": module, "student": module, "expect": expect, "output": output}
        scope.update({"run": run, "printed": printed, "Failed": Failed})
        message = ""
        try:
            exec(compile(str(test.get("code", "")), "<hidden test>", "exec"), scope)
            passed = True
        except (StudentGone, StudentError, Failed) as e:
            passed, message = False, str(e)
        except AssertionError as e:
            passed, message = False, str(e) or str(test.get("message") or "")
        except Exception as e:
            passed, message = False, f"{type(e).__name__}: {e}"
        if not passed and test.get("message"):
            message = str(test["message"]) + (f" ({message})" if message and message != test["message"] else "")
        results.append([passed, (message or ("" if passed else "did not pass"))[:MAX_MESSAGE]])
    return {"loaded": True, "error": "", "results": results}
