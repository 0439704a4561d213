"""Host-side runtime files: a root-owned, read-only copy of the in-box stub, and the clean environment."""

from __future__ import annotations

import hashlib
import os
import shutil
from functools import cache
from pathlib import Path

RUNTIME_DIR = Path(os.environ.get("CLASSROOM_EXEC_RUNTIME_DIR", "/run/classroom-exec"))
STUB_SOURCE = Path(__file__).with_name("_stub.py")
GRADER_SOURCE = Path(__file__).with_name("_grader.py")
BOX_STUB_DIR = "/opt/classroom"
BOX_WORKDIR = "/work"
BOX_PACKAGES_DIR = "/opt/packages"
SANDBOX_UID = int(os.environ.get("CLASSROOM_EXEC_UID", "65534"))
SANDBOX_GID = int(os.environ.get("CLASSROOM_EXEC_GID", "65534"))

# The sandbox's whole environment. An allowlist: nothing of the server's environment gets in.
BOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TERM": "dumb",
}
# The environment of the launchers (sh, prlimit, setpriv, bwrap/nsjail) outside the box: same allowlist.
LAUNCHER_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


@cache
def stub_dir() -> Path:
    """A content-addressed directory holding ``stub.py`` and ``grader.py``: readable by the sandbox uid, writable
    only by us."""
    data, grader = STUB_SOURCE.read_bytes(), GRADER_SOURCE.read_bytes()
    d = RUNTIME_DIR / hashlib.sha256(data + b"\0" + grader).hexdigest()[:16]
    if not (d / "grader.py").exists():
        RUNTIME_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        tmp = RUNTIME_DIR / f".tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(mode=0o755)
        for name, content in (("stub.py", data), ("grader.py", grader)):
            (tmp / name).write_bytes(content)
            os.chmod(tmp / name, 0o444)
        os.chmod(tmp, 0o555)
        try:
            tmp.rename(d)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
    return d


def launcher_prefix(procs_files: list[str], rlimits: list[str]) -> list[str]:
    """argv that joins the cgroup(s), sets hard rlimits as root, drops to the sandbox uid, then execs on.

    The cgroup is joined before anything of the sandbox exists, so no process can be born outside it.
    """
    join = 'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift; exec "$@"'
    return [
        "/bin/sh",
        "-c",
        join,
        "sh",
        *procs_files,
        "--",
        "prlimit",
        *rlimits,
        "--",
        "setpriv",
        f"--reuid={SANDBOX_UID}",
        f"--regid={SANDBOX_GID}",
        "--clear-groups",
        "--no-new-privs",
        "--bounding-set=-all",
        "--inh-caps=-all",
    ]


def prlimit_args(cpu_seconds: float, file_size_bytes: int) -> list[str]:
    cpu = max(1, int(cpu_seconds + 0.999))
    return [
        f"--cpu={cpu}:{cpu + 1}",
        f"--fsize={file_size_bytes}",
        "--core=0",
        "--nofile=256",
        "--memlock=0",
        "--msgqueue=0",
    ]
