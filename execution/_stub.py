# ruff: noqa: SIM105  (runs in the box before the user program: keeps its imports minimal)
"""In-box stub: runs inside the sandbox as the unprivileged user, before and around the user's program.

Warm phase: import the preloaded modules; as pid 1 of the box, fork the program's process and stay as its
init; write one ACK byte (0x06) to stdout and stderr, block on stdin.
Run phase: read ``<length>\\n<json>`` from fd 0 ({"files": {...}, "entry": ..., "args": [...]}), write
the files into the private work directory, then run the entry file as ``__main__``. The rest of stdin
is the program's.
A traceback shows only the user's frames. Standard library only; this file is copied into the box read-only.

Grade runs (a ``grade`` key in the request): the program's stdin becomes ``/dev/null`` and the program is
loaded; only then does the init ask the host for the hidden tests (``loaded`` on the status pipe, or a nonce
trailer on stdout) and read them from the box's stdin, keeping them to itself while the program answers its
questions (:mod:`grader`); the init's report goes out beside the exit status, on the status pipe and in the nonce
trailer, where the program cannot write.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _read_exact(n: int, fd: int = 0) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            os._exit(0)
        buf += chunk
    return bytes(buf)


def _read_request(fd: int = 0) -> dict[str, Any]:
    header = bytearray()
    while not header.endswith(b"\n"):
        c = os.read(fd, 1)
        if not c or len(header) > 20:
            os._exit(0)
        header += c
    import json

    req: dict[str, Any] = json.loads(_read_exact(int(header), fd))
    return req


def _write_files(workdir: str, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = os.path.join(workdir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _hide_from_siblings() -> None:
    """Make this process non-dumpable: the program (same uid) cannot open /proc/1/fd/* or /proc/1/mem."""
    import ctypes

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def _hide_host_details() -> None:
    """Landlock (the kernel's unprivileged file-access sandbox): nothing under /proc or /sys can be read or
    written from here on, by this process or any it starts. /proc/self/mountinfo names the host's disk and
    paths (docker's overlay layers), /proc and /sys the host's hardware and kernel; the other top-level
    directories keep every right, and directories stay listable. Without Landlock (old kernel) nothing is
    hidden: the host's start-up self-test reports that."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi < 1:
        return
    rights = (1 << {1: 13, 2: 14, 3: 15, 4: 15}.get(abi, 16)) - 1  # every filesystem right this ABI knows
    read_dir = 1 << 3
    handled = ctypes.c_uint64(rights)
    ruleset = libc.syscall(444, ctypes.byref(handled), 8, 0)
    if ruleset < 0:
        return

    class Beneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    def allow(path: str, access: int) -> None:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        libc.syscall(445, ruleset, 1, ctypes.byref(Beneath(access, fd)), 0)  # LANDLOCK_RULE_PATH_BENEATH
        os.close(fd)

    allow("/", read_dir)
    for name in os.listdir("/"):
        path = "/" + name
        if name not in ("proc", "sys") and not os.path.islink(path) and os.path.isdir(path):
            allow(path, rights)
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS (already set by every launcher; required by Landlock)
    libc.syscall(446, ruleset, 0)  # landlock_restrict_self
    os.close(ruleset)


def _load_grader() -> Any:
    """``grader.py`` from beside this file (``-I`` keeps this directory off ``sys.path``)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grader.py")
    spec = importlib.util.spec_from_file_location("grader", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["grader"] = module
    spec.loader.exec_module(module)
    return module


def _become_init(status_fd: int) -> tuple[int, int, int]:
    """As pid 1 of the box, fork the program's process (pid 2, ordinary signal semantics) and be its init.

    Returns only in the child: the fd on which the init hands it the request, and the two ends of the grading
    pipes (requests in, replies out) it answers in a grade run. The init reads the request
    from stdin (the program's stdin starts right after it), keeps its ``nonce`` to itself, forwards the
    rest, waits for the program while reaping orphans, then reports the exit status (128+N for signal N):
    on ``status_fd`` (a pipe only the init holds) and, if the host sent a nonce, as a trailer line
    ``\\0classroom-exit:<nonce>:<code>`` on stdout and stderr, so the host need not wait for the box to be
    torn down. The init is not dumpable: the program cannot read its memory or write to its fds.
    """
    req_r, req_w = os.pipe()
    ask_r, ask_w = os.pipe()  # grading: init -> program
    reply_r, reply_w = os.pipe()  # grading: program -> init
    child = os.fork()
    if child == 0:
        for fd in (req_w, ask_w, reply_r):
            os.close(fd)
        if status_fd >= 0:
            os.close(status_fd)
        import ctypes

        ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # the program itself is ordinary (dumpable) again
        return req_r, ask_r, reply_w
    for fd in (req_r, ask_r, reply_w):
        os.close(fd)
    import json

    req = _read_request(0)
    nonce = str(req.pop("nonce", "") or "")
    # The program only learns that it is being graded; the tests come later, to this (undumpable) process.
    grade_spec = req.pop("grade", None)
    if grade_spec is not None:
        req["grading"] = True
    data = json.dumps(req).encode()
    try:
        with os.fdopen(req_w, "wb") as w:
            w.write(b"%d\n" % len(data) + data)
    except OSError:
        pass
    report = None
    if isinstance(grade_spec, dict):
        grader = sys.modules["grader"]

        def fetch_tests() -> Any:
            # The program has loaded (and holds no end of stdin any more): ask the host for the tests.
            if status_fd >= 0:
                os.write(status_fd, b"loaded\n")
            if nonce:
                os.write(1, b"\0classroom-loaded:%s\n" % nonce.encode())
            import time

            return grader.read_message(0, time.monotonic() + 30)

        try:
            report = grader.grade(grade_spec, grader.Channel(reply_r, ask_w), child, fetch_tests)
        except Exception as e:
            report = {"loaded": False, "error": f"the grader failed: {type(e).__name__}: {e}", "results": []}
        if report.get("loaded"):
            try:
                os.kill(child, 9)  # done asking: the program's job is over
            except OSError:
                pass
    status = 0
    while True:
        try:
            pid, st = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            status = st
            break
    code = os.waitstatus_to_exitcode(status)
    code = 128 - code if code < 0 else code
    graded = b""
    if report is not None:
        if report.get("loaded"):
            code = 0  # the program answered every question it was asked; the report says how well
        graded = json.dumps(report).encode()
    if status_fd >= 0:
        try:
            os.write(status_fd, (b"grade:" + graded + b"\n" if graded else b"") + b"%d\n" % code)
        except OSError:
            pass
    if nonce:
        trailer = b"\0classroom-exit:%s:%d\n" % (nonce.encode(), code)
        for fd in (1, 2):
            head = b"\0classroom-grade:%s:%s\n" % (nonce.encode(), graded) if graded and fd == 1 else b""
            try:
                os.write(fd, head + trailer)
            except OSError:
                pass
    os._exit(code)


def main() -> None:
    workdir, packages, preload = sys.argv[1], sys.argv[2], sys.argv[3]
    status_fd = int(sys.argv[4]) if len(sys.argv) > 4 and os.getpid() == 1 else -1
    if os.getpid() == 1:
        _hide_from_siblings()
    _hide_host_details()
    if status_fd < 0 and len(sys.argv) > 4 and sys.argv[4] != "-1":
        try:
            os.close(int(sys.argv[4]))  # not init: never hand the status pipe to the program
        except OSError:
            pass
    for name in filter(None, preload.split(",")):
        try:
            __import__(name)
        except ImportError:
            pass
    import runpy
    import traceback

    grader = _load_grader()  # before the program's directory goes on sys.path, and before the fork

    req_fd, ask_fd, reply_fd = 0, -1, -1
    if os.getpid() == 1:
        req_fd, ask_fd, reply_fd = _become_init(status_fd)  # forked while warm, so a run pays for no fork
    # ACK on both streams: the host discards whatever the launchers wrote before it (loader warnings).
    os.write(2, b"\x06")
    os.write(1, b"\x06")
    req = _read_request(req_fd)
    if req_fd:
        os.close(req_fd)
    try:
        _write_files(workdir, req["files"])
    except OSError as e:
        sys.stderr.write(f"could not write the program's files: {e}\n")
        os._exit(1)
    entry = os.path.join(workdir, req["entry"])
    sys.argv = [entry, *req.get("args", [])]
    sys.path[:] = [os.path.dirname(entry), *filter(None, packages.split(":")), *sys.path[1:]]
    os.chdir(workdir)
    code = 0
    if req.get("grading") or "grade" in req:
        if ask_fd < 0 or "grade" in req:
            sys.stderr.write("grading needs the box's init; this box has none\n")
            os._exit(1)
        # The box's stdin carries the hidden tests to the init once the program has loaded: the program lets go
        # of it before any of its code runs.
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        code = grader.load_and_serve(entry, workdir, grader.Channel(ask_fd, reply_fd))
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)
    for fd in (ask_fd, reply_fd):
        if fd >= 0:
            os.close(fd)
    try:
        runpy.run_path(entry, run_name="__main__")
    except SystemExit as e:
        code = _exit_code(e)
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(workdir + "/"):
            tb = tb.tb_next
        try:
            traceback.print_exception(type(e), e, tb, file=sys.__stderr__)
        except Exception:
            pass
        code = 1
    import threading

    if threading.active_count() > 1:
        sys.exit(code)  # let the interpreter join the program's threads, as plain `python` would
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


main()
