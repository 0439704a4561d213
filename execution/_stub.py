# ruff: noqa: SIM105  (runs in the box before the user program: keeps its imports minimal)
"""In-box stub: runs inside the sandbox as the unprivileged user, before and around the user's program.

Warm phase: import the preloaded modules; as pid 1 of the box, fork the program's process and stay as its
init; write one ACK byte (0x06) to stdout and stderr, block on stdin.
Run phase: read ``<length>\\n<json>`` from fd 0 ({"files": {...}, "entry": ..., "args": [...]}), write
the files into the private work directory, then run the entry file as ``__main__``. The rest of stdin
is the program's.
A traceback shows only the user's frames. Standard library only; this file is copied into the box read-only.
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


def _become_init(status_fd: int) -> int:
    """As pid 1 of the box, fork the program's process (pid 2, ordinary signal semantics) and be its init.

    Returns only in the child: the fd on which the init hands it the request. The init reads the request
    from stdin (the program's stdin starts right after it), keeps its ``nonce`` to itself, forwards the
    rest, waits for the program while reaping orphans, then reports the exit status (128+N for signal N):
    on ``status_fd`` (a pipe only the init holds) and, if the host sent a nonce, as a trailer line
    ``\\0classroom-exit:<nonce>:<code>`` on stdout and stderr, so the host need not wait for the box to be
    torn down. The init is not dumpable: the program cannot read its memory or write to its fds.
    """
    req_r, req_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(req_w)
        if status_fd >= 0:
            os.close(status_fd)
        import ctypes

        ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # the program itself is ordinary (dumpable) again
        return req_r
    os.close(req_r)
    import json

    req = _read_request(0)
    nonce = str(req.pop("nonce", "") or "")
    data = json.dumps(req).encode()
    try:
        with os.fdopen(req_w, "wb") as w:
            w.write(b"%d\n" % len(data) + data)
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
    if status_fd >= 0:
        try:
            os.write(status_fd, b"%d\n" % code)
        except OSError:
            pass
    if nonce:
        trailer = b"\0classroom-exit:%s:%d\n" % (nonce.encode(), code)
        for fd in (1, 2):
            try:
                os.write(fd, trailer)
            except OSError:
                pass
    os._exit(code)


def main() -> None:
    workdir, packages, preload = sys.argv[1], sys.argv[2], sys.argv[3]
    status_fd = int(sys.argv[4]) if len(sys.argv) > 4 and os.getpid() == 1 else -1
    if os.getpid() == 1:
        _hide_from_siblings()
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

    req_fd = 0
    if os.getpid() == 1:
        req_fd = _become_init(status_fd)  # forked while warm, so a run pays for no fork
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
