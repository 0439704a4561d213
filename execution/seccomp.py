"""The seccomp policy of every sandbox: an allow list (:mod:`execution.syscalls`), everything else refused.

One policy, three encodings, so the three backends allow exactly the same calls: a libseccomp BPF program for
bwrap (``--seccomp FD``), a kafel policy for nsjail (``--seccomp_string``) and a JSON profile for docker
(``security_opt=["seccomp=..."]``). Unlisted syscalls fail with ``ENOSYS``; the attack surface listed in
:data:`~execution.syscalls.REFUSED_EPERM` (and clone with namespace flags) with ``EPERM``; clone3 with
``ENOSYS`` so libc falls back to clone, whose flags the filter can see. Syscalls this architecture does not
have are left out of every encoding.
"""

from __future__ import annotations

import errno
import json
import os
from functools import cache

from execution.syscalls import (
    ARG_FILTERED,
    CLONE_NS_FLAGS,
    IOCTL_REQUESTS,
    REFUSED_EPERM,
    SOCKET_DOMAINS,
    allowed_names,
)

DEFAULT_ERRNO = errno.ENOSYS


@cache
def syscall_number(name: str) -> int | None:
    """The native number of ``name``, or None if this architecture has no such syscall."""
    import pyseccomp as sc

    try:
        nr = int(sc.resolve_syscall(sc.system_arch(), name))
    except (RuntimeError, ValueError, OSError):
        return None
    return nr if nr >= 0 else None


def _native(names: list[str] | tuple[str, ...]) -> list[str]:
    return [n for n in names if syscall_number(n) is not None]


@cache
def known_syscalls() -> tuple[str, ...]:
    """Every syscall name libseccomp knows on this architecture."""
    import pyseccomp as sc

    names = []
    for nr in range(1024):
        try:
            names.append(sc.resolve_syscall(sc.system_arch(), nr).decode())
        except (ValueError, RuntimeError, OSError):
            continue
    return tuple(names)


def plain_allowed() -> list[str]:
    """Allowed without an argument filter."""
    return _native([n for n in allowed_names() if n not in ARG_FILTERED])


def refused() -> list[str]:
    """Refused with EPERM (the kernel's attack surface)."""
    return _native(REFUSED_EPERM)


@cache
def bpf_program() -> bytes:
    """The compiled filter for this machine's architecture (for ``bwrap --seccomp FD``)."""
    import pyseccomp as sc

    f = sc.SyscallFilter(defaction=sc.ERRNO(DEFAULT_ERRNO))
    for name in plain_allowed():
        f.add_rule(sc.ALLOW, name)
    for name in refused():
        f.add_rule(sc.ERRNO(errno.EPERM), name)
    # clone3 takes the default (ENOSYS): libseccomp refuses a rule equal to the default action
    f.add_rule(sc.ALLOW, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_NS_FLAGS, 0))
    for bit in _bits(CLONE_NS_FLAGS):
        f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, bit, bit))
    for domain in SOCKET_DOMAINS:
        f.add_rule(sc.ALLOW, "socket", sc.Arg(0, sc.EQ, domain))
    for request in IOCTL_REQUESTS:
        f.add_rule(sc.ALLOW, "ioctl", sc.Arg(1, sc.EQ, request))
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


def _bits(mask: int) -> list[int]:
    return [1 << i for i in range(64) if mask >> i & 1]


def bpf_fd() -> int:
    """A fresh readable fd holding the BPF program; the caller passes it on and closes it."""
    prog = bpf_program()
    r, w = os.pipe()
    os.write(w, prog)  # a few KiB: fits in the pipe buffer
    os.close(w)
    return r


def kafel_policy() -> str:
    """The same policy in nsjail's kafel language (syscalls by number: kafel's name table lags the kernel)."""

    def ids(names: list[str]) -> str:
        return ", ".join(f"SYSCALL[{syscall_number(n)}]" for n in names)

    ns = f"(flags & {CLONE_NS_FLAGS:#x}) == 0"
    domains = " || ".join(f"domain == {d}" for d in SOCKET_DOMAINS)
    requests = " || ".join(f"request == {r:#x}" for r in IOCTL_REQUESTS)
    return (
        f"ALLOW {{ {ids(plain_allowed())}, "
        f"clone(flags, stack, ptid, ctid, tls) {{ {ns} }}, "
        f"socket(domain, type, protocol) {{ {domains} }}, "
        f"ioctl(fd, request) {{ {requests} }} }} "
        f"ERRNO({errno.EPERM}) {{ {ids(refused())}, "
        f"clone(flags, stack, ptid, ctid, tls) {{ (flags & {CLONE_NS_FLAGS:#x}) != 0 }} }} "
        f"ERRNO({errno.ENOSYS}) {{ {ids(['clone3'])} }} "
        f"DEFAULT ERRNO({DEFAULT_ERRNO})"
    )


def docker_profile() -> str:
    """The same policy as a docker seccomp profile (JSON, for ``security_opt=["seccomp=..."]``)."""
    rules: list[dict[str, object]] = [
        {"names": plain_allowed(), "action": "SCMP_ACT_ALLOW"},
        {"names": refused(), "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS},
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": CLONE_NS_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
        },
    ]
    rules += [
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": errno.EPERM,
            "args": [{"index": 0, "value": bit, "valueTwo": bit, "op": "SCMP_CMP_MASKED_EQ"}],
        }
        for bit in _bits(CLONE_NS_FLAGS)
    ]
    rules += [
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": d, "op": "SCMP_CMP_EQ"}]}
        for d in SOCKET_DOMAINS
    ]
    rules += [
        {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": r, "op": "SCMP_CMP_EQ"}]}
        for r in IOCTL_REQUESTS
    ]
    # Docker 20.10 ignores defaultErrnoRet (its default errno is EPERM): every other syscall by name instead.
    listed = set(plain_allowed()) | set(refused()) | set(ARG_FILTERED) | {"clone3"}
    others = [n for n in known_syscalls() if n not in listed]
    rules.append({"names": others, "action": "SCMP_ACT_ERRNO", "errnoRet": DEFAULT_ERRNO})
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": DEFAULT_ERRNO, "syscalls": rules}
    return json.dumps(profile)
