"""The seccomp policy of every sandbox: allow by default, deny the kernel's attack surface with EPERM.

The same list feeds bwrap (a libseccomp BPF program via ``pyseccomp``), nsjail (a kafel policy) and docker
(a JSON profile), so the three backends refuse the same syscalls.
"""

from __future__ import annotations

import errno
import json
import os
from functools import cache

DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "mount",
    "umount2",
    "pivot_root",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "fanotify_init",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "vhangup",
    "lookup_dcookie",
    "open_by_handle_at",
    "name_to_handle_at",
    "iopl",
    "ioperm",
    "uselib",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "move_pages",
    "migrate_pages",
)
# clone(2) flags that create namespaces; clone3 is refused with ENOSYS so libc falls back to clone(2),
# whose flags a filter can see.
_CLONE_NS_FLAGS = (
    0x00020000,
    0x02000000,
    0x04000000,
    0x08000000,
    0x10000000,
    0x20000000,
    0x40000000,
    0x00000080,
)


@cache
def bpf_program() -> bytes:
    """The compiled filter for this machine's architecture (for ``bwrap --seccomp FD``)."""
    import pyseccomp as sc

    f = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in DENIED:
        try:
            f.add_rule(sc.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            continue  # not a syscall on this architecture
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for flag in _CLONE_NS_FLAGS:
        f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    r, w = os.pipe()
    try:
        with os.fdopen(w, "wb", closefd=False) as wf:
            f.export_bpf(wf)
        os.close(w)
        w = -1
        chunks = []
        while data := os.read(r, 65536):
            chunks.append(data)
        return b"".join(chunks)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def bpf_fd() -> int:
    """A fresh readable fd holding the BPF program; the caller passes it on and closes it."""
    prog = bpf_program()
    r, w = os.pipe()
    os.write(w, prog)  # a few KiB: fits in the pipe buffer
    os.close(w)
    return r


def kafel_policy() -> str:
    """The same policy in nsjail's kafel language."""
    names = ", ".join("umount" if n == "umount2" else n for n in DENIED)  # kafel's name for umount2
    ns = " || ".join(f"(flags & {flag:#x}) == {flag:#x}" for flag in _CLONE_NS_FLAGS)
    return (
        f"ERRNO({errno.EPERM}) {{ {names} }} "
        f"ERRNO({errno.ENOSYS}) {{ clone3 }} "
        f"ERRNO({errno.EPERM}) {{ clone(flags, stack, ptid, ctid, tls) {{ {ns} }} }} "
        "DEFAULT ALLOW"
    )


def docker_profile() -> str:
    """The same policy as a docker seccomp profile (JSON, for ``security_opt=["seccomp=..."]``)."""
    rules: list[dict[str, object]] = [
        {"names": list(DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS},
    ]
    rules += [
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": errno.EPERM,
            "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
        }
        for flag in _CLONE_NS_FLAGS
    ]
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})
