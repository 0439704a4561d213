from __future__ import annotations

import json

from execution import seccomp


def test_every_backend_gets_the_same_denylist() -> None:
    kafel = seccomp.kafel_policy()
    profile = json.loads(seccomp.docker_profile())
    denied = set(profile["syscalls"][0]["names"])
    assert denied == set(seccomp.DENIED)
    for name in ("ptrace", "mount", "unshare", "setns", "keyctl", "io_uring_setup", "bpf", "perf_event_open"):
        assert name in seccomp.DENIED and name in kafel
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    assert kafel.endswith("DEFAULT ALLOW")


def test_bpf_program_compiles_and_is_served_on_fresh_fds() -> None:
    prog = seccomp.bpf_program()
    assert len(prog) > 0 and len(prog) % 8 == 0  # struct sock_filter is 8 bytes
    import os

    fd = seccomp.bpf_fd()
    try:
        assert os.read(fd, len(prog) + 1) == prog
    finally:
        os.close(fd)
