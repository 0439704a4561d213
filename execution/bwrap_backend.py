"""``bwrap`` backend: bubblewrap namespaces (user, pid, net, ipc, uts, mount, cgroup) + our cgroup + rlimits +
a libseccomp filter, launched as the unprivileged sandbox uid (never root mapped to root).

Inside: the interpreter, its standard library and shared libraries read-only (:mod:`execution.box_files`,
not all of ``/usr``), a read-only root, private size-capped tmpfs ``/work``, ``/tmp`` and ``/dev/shm``, a fresh
``/proc`` of the box's own pid namespace (unreadable to the program: Landlock, set by the stub), no network
interface but a down loopback.
"""

from __future__ import annotations

import os
import shutil

from execution import box_files, leftovers, seccomp
from execution.languages import get_language
from execution.process import ProcessSandbox, host_unavailable_reason
from execution.runtime import BOX_ENV, BOX_PACKAGES_DIR, BOX_STUB_DIR, BOX_WORKDIR, stub_dir
from execution.types import Limits

BWRAP = os.environ.get("CLASSROOM_EXEC_BWRAP", "bwrap")


def runtime_binds() -> list[str]:
    """bwrap arguments binding the interpreter, its standard library and libraries read-only (not all of /usr)."""
    argv: list[str] = []
    for src, dst in box_files.binds():
        argv += ["--ro-bind", src, dst]
    for link, target in box_files.SYMLINKS.items():
        argv += ["--symlink", target, link]
    return argv


def box_command(language: str, status_fd: int = -1) -> list[str]:
    """The command run inside the box: the interpreter running the stub, told where things are.

    ``status_fd`` is an inherited pipe the in-box init writes the program's exit status to (-1: none).
    """
    lang = get_language(language)
    pkgs = ":".join(f"{BOX_PACKAGES_DIR}/{i}" for i in range(len(lang.packages)))
    return [
        lang.interpreter,
        *lang.flags,
        f"{BOX_STUB_DIR}/stub.py",
        BOX_WORKDIR,
        pkgs,
        ",".join(lang.preload),
        str(status_fd),
    ]


class BwrapBackend:
    name = "bwrap"
    strength = 2

    def unavailable_reason(self) -> tuple[str, str] | None:
        if shutil.which(BWRAP) is None:
            return "bubblewrap is not installed", "apt-get install bubblewrap (scripts/install-system.sh)"
        return host_unavailable_reason()

    def argv(self, limits: Limits, language: str, fds: list[int]) -> tuple[list[str], list[int]]:
        """(argv, fds to pass); ``fds[0]``, if given, is the status pipe for the in-box init."""
        lang = get_language(language)
        seccomp_fd = seccomp.bpf_fd()
        fds = [*fds, seccomp_fd]
        tmpfs = str(limits.tmpfs_bytes)
        argv = [
            shutil.which(BWRAP) or BWRAP,
            "--unshare-user",
            "--disable-userns",
            "--unshare-all",
            "--as-pid-1",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--clearenv",
            "--hostname",
            "sandbox",
            *runtime_binds(),
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            tmpfs,
            "--tmpfs",
            "/tmp",
            "--size",
            tmpfs,
            "--tmpfs",
            "/dev/shm",
            "--size",
            tmpfs,
            "--tmpfs",
            BOX_WORKDIR,
            "--ro-bind",
            str(stub_dir()),
            BOX_STUB_DIR,
        ]
        for i, path in enumerate(lang.packages):
            argv += ["--ro-bind", path, f"{BOX_PACKAGES_DIR}/{i}"]
        for k, v in BOX_ENV.items():
            argv += ["--setenv", k, v]
        argv += [
            "--remount-ro",
            "/",
            "--chdir",
            BOX_WORKDIR,
            "--seccomp",
            str(seccomp_fd),
            "--",
            *box_command(language, fds[0] if fds else -1),
        ]
        return argv, fds

    def leftovers(self, owner: int | None = None) -> list[str]:
        """Per-run cgroup folders in any hierarchy that exist now (of server process ``owner`` only)."""
        return leftovers.existing_groups(owner=owner)

    def reap_stale(self) -> list[str]:
        """Remove cgroup folders (every hierarchy) of server processes that died without closing them."""
        return leftovers.reap_stale()

    def sandbox(self, limits: Limits, language: str = "python") -> ProcessSandbox:
        get_language(language)
        return ProcessSandbox(self.name, limits, lambda fds: self.argv(limits, language, fds))
