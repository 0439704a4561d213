"""Derive the sandbox's syscall allow list: which system calls the boxed Python actually makes.

Runs three workloads in real bwrap sandboxes with ``strace -f`` wrapped around the launcher (as root, outside
the box) and counts, per syscall, the calls made by processes *inside* the box: from the interpreter's
``execve`` on, and by every process it forks. bwrap's own set-up (mount, pivot_root, ...) happens before that
``execve`` and is not counted. The workloads:

1. the language's start-up self-test (``execution.selftest``: canaries, memory and pids limits);
2. the sample course (``classroom/courses/sample``): every ``python`` block of every lesson, every starter
   program, and every lesson's hidden tests run against its starter files;
3. the exploit corpus (``tests/execution/exploits``), confined by the policy in force while it runs.

Prints one line per syscall: name, calls, and whether the current policy allows it. Syscalls that only the
exploits attempt, and that the policy refuses, are listed separately (they stay refused). The result was
reviewed by hand into the groups of :mod:`execution.syscalls`::

    sudo .venv/bin/python scripts/derive_seccomp.py [--only selftest,course,exploits]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classroom.courses.format import load_course_dir  # noqa: E402
from execution import Limits, RunSpec, get_backend  # noqa: E402
from execution import process as process_module  # noqa: E402
from execution.selftest import self_test  # noqa: E402
from execution.syscalls import allowed_names  # noqa: E402
from execution.types import MiB  # noqa: E402

LINE = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$")
RESULT = re.compile(r"=\s+(-?\d+)(?:\s|$)")
LIMITS = Limits(wall_seconds=8, cpu_seconds=4, memory_bytes=128 * MiB, pids=32, tmpfs_bytes=16 * MiB)


def in_box_calls(trace: str, interpreter: str) -> collections.Counter[str]:
    """Syscall counts of the in-box processes of one ``strace -f`` log.

    strace shows host pids, a clone inside the box returns the box's pid: so a child is recognised as the
    first line of a pid that appears after the interpreter started (nothing outside the box forks then)."""
    inside: set[int] = set()
    seen: set[int] = set()
    counts: collections.Counter[str] = collections.Counter()
    for line in trace.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        pid, name, rest = int(m[1]), m[2] or m[3], m[4]
        if pid not in seen:
            seen.add(pid)
            if inside:  # nothing outside the box forks once the interpreter runs: a new pid is a boxed child
                inside.add(pid)
        if name == "execve" and interpreter in rest.split(",", 1)[0] and pid not in inside:
            if "resumed" not in line and "<unfinished" in rest:
                inside.add(pid)  # the result comes on a "resumed" line; an execve that fails returns here
            elif RESULT.search(rest) and RESULT.search(rest)[1] == "0":  # type: ignore[index]
                inside.add(pid)
        if pid not in inside:
            continue
        if not m[2]:  # count a call once: on its first line, not on its "resumed" line
            counts[name] += 1
    return counts


def workloads(only: set[str]) -> list[RunSpec]:
    specs: list[RunSpec] = []
    if "course" in only:
        _, lessons = load_course_dir(ROOT / "classroom" / "courses" / "sample")
        for lesson in lessons:
            for block in re.findall(r"```python\n(.*?)```", lesson.body, re.S):
                specs.append(RunSpec(files={"main.py": block}, stdin="x\n" * 20, limits=LIMITS))
            if lesson.starter_files:
                specs.append(RunSpec(files=dict(lesson.starter_files), stdin="x\n" * 20, limits=LIMITS))
            if lesson.hidden_tests:
                files = {**lesson.starter_files, "grader.py": lesson.hidden_tests}
                specs.append(RunSpec(files=files, entry="grader.py", stdin="x\n" * 20, limits=LIMITS))
    if "exploits" in only:
        for path in sorted((ROOT / "tests" / "execution" / "exploits").glob("*.py")):
            head = dict(re.findall(r"^# (args): (.*)$", path.read_text(), re.M))
            args = tuple(a.format(canary_file="/etc/hostname", listener_port=9) for a in head.get("args", "").split())
            specs.append(RunSpec(files={"main.py": path.read_text()}, args=args, limits=LIMITS))
    return specs


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="selftest,course,exploits")
    only = set(ap.parse_args().only.split(","))
    backend = get_backend("bwrap")
    interpreter = "/usr/bin/python3"
    traces = Path(tempfile.mkdtemp(prefix="classroom-strace-"))
    serial = iter(range(1_000_000))
    wrapped = process_module.launcher_prefix

    def traced_prefix(procs: list[str], rlimits: list[str]) -> list[str]:
        out = str(traces / f"run-{next(serial)}.trace")
        return ["strace", "-f", "-qq", "-s", "64", "-o", out, *wrapped(procs, rlimits)]

    process_module.launcher_prefix = traced_prefix  # type: ignore[assignment]
    if "selftest" in only:
        selftest = await self_test(backend, fresh=True)
        print(f"# self-test: {'ok' if selftest.ok else selftest.failures}", file=sys.stderr)
    specs = workloads(only)
    for spec in specs:
        async with backend.sandbox(spec.limits) as sb:
            res = await sb.run(spec)
        print(f"# {spec.entry or 'main.py'}: {res.verdict}", file=sys.stderr)

    report(traces, interpreter)


def report(traces: Path, interpreter: str) -> None:
    total: collections.Counter[str] = collections.Counter()
    files = sorted(traces.glob("*.trace"))
    for f in files:
        total += in_box_calls(f.read_text(errors="replace"), interpreter)
    allowed = set(allowed_names())
    print(f"# {len(total)} distinct syscalls over {len(files)} sandboxes ({traces})")
    for name, n in sorted(total.items()):
        print(f"{name:24} {n:8}  {'allowed' if name in allowed else 'REFUSED'}")


if __name__ == "__main__":
    asyncio.run(main())
