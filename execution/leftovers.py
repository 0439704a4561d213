"""What sandboxes leave behind when their server process dies (or a removal failed), and its clean-up.

Every per-run cgroup folder is named ``run-<pid>-<random>`` after the server process that created it, and
every container carries that pid in a label: a folder or container is *ours to remove* only when that
process is gone. On a shared machine other servers' (and other test runs') sandboxes live beside ours, so
nothing is removed on a guess: a live owner's folder is never touched. A pid that was reused by a newer
process (started after the folder was made) counts as gone.
"""

from __future__ import annotations

import contextlib
import os
from functools import cache
from pathlib import Path

from execution.cgroups import CGROUP_ROOT, PARENT, hierarchies, remove_tree

# Seconds of slack between "the folder was made" and "its owner started" (clock ticks are coarse).
_SLACK = 2.0


@cache
def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


def process_started_at(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return 0.0  # exists but unreadable: treat as alive and old
    fields = stat.rsplit(")", 1)[1].split()
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def owner_gone(pid: int, created_at: float) -> bool:
    """Whether the server process ``pid`` that made something at ``created_at`` (epoch seconds) is gone."""
    if pid == os.getpid():
        return False
    started = process_started_at(pid)
    return started is None or started > created_at + _SLACK


def owner_of(name: str) -> int | None:
    """The creating pid in ``run-<pid>-<random>`` or ``classroom-<pid>-<random>``, else None."""
    parts = name.split("-")
    if len(parts) != 3 or parts[0] not in ("run", "classroom") or not parts[1].isdigit():
        return None
    return int(parts[1])


def existing_groups(root: Path = CGROUP_ROOT, owner: int | None = None) -> list[str]:
    """Per-run cgroup folders that exist now in any hierarchy, of every server process or of ``owner`` only."""
    prefix = "run-" if owner is None else f"run-{owner}-"
    found: list[str] = []
    for h in hierarchies(root):
        with contextlib.suppress(OSError):
            found += [str(d) for d in (h / PARENT).iterdir() if d.is_dir() and d.name.startswith(prefix)]
    return sorted(found)


def reap_stale(root: Path = CGROUP_ROOT) -> list[str]:
    """Remove per-run cgroup folders (in every hierarchy) whose server process is gone; the removed paths.

    Processes still inside (a box whose launcher outlived a SIGKILLed server) are killed first.
    """
    removed = []
    for path in existing_groups(root):
        d = Path(path)
        pid = owner_of(d.name)
        try:
            created = d.stat().st_ctime
        except OSError:
            continue
        if pid is None or not owner_gone(pid, created):
            continue
        if remove_tree(d, attempts=40):
            removed.append(path)
    return removed
