"""The seccomp allow list: one policy in three encodings, and what a boxed program sees of it on every backend."""

from __future__ import annotations

import json
import os
import re

import pytest

from execution import Backend, Limits, RunSpec, Verdict, seccomp
from execution.syscalls import ALLOWED, ARG_FILTERED, REFUSED_EPERM, allowed_names
from execution.types import MiB

ATTACK_SURFACE = ("ptrace", "mount", "unshare", "setns", "keyctl", "io_uring_setup", "bpf", "perf_event_open", "chroot")


def test_the_list_is_an_allow_list_with_groups_and_no_attack_surface() -> None:
    names = allowed_names()
    assert len(names) == len(set(names)) and 100 < len(names) < 200
    assert all(group for group in ALLOWED.values())
    assert not set(names) & set(REFUSED_EPERM), "a syscall both allowed and refused"
    for name in ATTACK_SURFACE:
        assert name not in names and name in REFUSED_EPERM


def test_every_backend_gets_the_same_allow_list() -> None:
    plain = set(seccomp.plain_allowed())
    profile = json.loads(seccomp.docker_profile())
    assert (profile["defaultAction"], profile["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 38)
    docker_allowed = {
        n for r in profile["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and "args" not in r for n in r["names"]
    }
    docker_filtered = {
        n for r in profile["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and "args" in r for n in r["names"]
    }
    assert docker_allowed == plain and docker_filtered == set(ARG_FILTERED)

    kafel = seccomp.kafel_policy()
    allow_block = kafel[: kafel.index("ERRNO(")]
    kafel_allowed = {int(n) for n in re.findall(r"SYSCALL\[(\d+)\]", allow_block)}
    assert kafel_allowed == {seccomp.syscall_number(n) for n in plain}
    assert kafel.endswith("DEFAULT ERRNO(38)")
    for name in ARG_FILTERED:
        assert f"{name}(" in allow_block


def test_bpf_program_compiles_and_is_served_on_fresh_fds() -> None:
    prog = seccomp.bpf_program()
    assert len(prog) > 0 and len(prog) % 8 == 0  # struct sock_filter is 8 bytes
    fd = seccomp.bpf_fd()
    try:
        assert os.read(fd, len(prog) + 1) == prog
    finally:
        os.close(fd)


LIM = Limits(wall_seconds=5, cpu_seconds=2, memory_bytes=128 * MiB, pids=32)
# Not on the list (the box has no use for them), then refused outright, then filtered by argument.
PROBE = r"""
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    r = libc.syscall(nr, *args)
    return "ok" if r >= 0 else errno.errorcode[ctypes.get_errno()]
print("sched_setaffinity", call(203, 0, 8, ctypes.create_string_buffer(8)))
print("syslog", call(103, 3, None, 0))
print("clone_newuser", call(56, 0x10000000 | 17, 0, 0, 0, 0))
for fam in (socket.AF_UNIX, socket.AF_INET, socket.AF_NETLINK):
    try:
        socket.socket(fam, socket.SOCK_DGRAM).close()
        print("socket", fam, "ok")
    except OSError as e:
        print("socket", fam, errno.errorcode[e.errno])
print("TIOCSTI", call(16, 0, 0x5412, ctypes.byref(ctypes.c_char(b"x"))))
print("isatty", os.isatty(0))
os.sched_setaffinity(0, {0})
"""

pytestmark = [pytest.mark.anyio]


@pytest.mark.sandbox
async def test_a_program_gets_a_clear_error_for_what_the_list_refuses(backend: Backend) -> None:
    async with backend.sandbox(LIM) as sb:
        res = await sb.run(RunSpec(files={"main.py": PROBE}, limits=LIM))
    lines = dict(line.rsplit(" ", 1) for line in res.stdout.splitlines())
    assert lines["sched_setaffinity"] == "ENOSYS", res.stdout  # not on the list: "Function not implemented"
    assert lines["syslog"] == "EPERM" and lines["clone_newuser"] == "EPERM"
    # refused by argument: the default errno (docker 20.10 answers EPERM there, it ignores defaultErrnoRet)
    assert lines["socket 1"] == "ok" and lines["socket 2"] == "ok" and lines["socket 16"] in ("ENOSYS", "EPERM")
    assert lines["TIOCSTI"] in ("ENOSYS", "EPERM") and lines["isatty"] == "False"
    # the program that needs a refused call ends at once with a verdict and a readable error, not a hang
    assert res.verdict == Verdict.RUNTIME_ERROR and res.error is not None and res.wall_ms < 4000
    assert (res.error.type, res.error.line) == ("OSError", PROBE.splitlines().index("os.sched_setaffinity(0, {0})") + 1)
    assert "Function not implemented" in res.error.message
