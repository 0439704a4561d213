"""Grading benchmark: a check of the sample course's prompt-construction exercise (5 hidden tests, each a call
into the student's process) against a plain run of the same program, both from a warm pool, interleaved so both
see the same load on a shared machine.

    .venv/bin/python load/bench_checks.py [--backends bwrap,nsjail,docker] [--n 30]

Prints p50/p99 of each and the ratio check/run: what grading adds on top of running the program (the tests'
questions and answers over the grader's pipes, the report on the status channel).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classroom.courses import SAMPLE_DIR, load_course_dir
from execution import GradeSpec, HiddenTest, Limits, RunSpec, WarmPool, get_backend, self_test

SOLUTION = (Path(__file__).resolve().parents[1] / "tests" / "execution" / "sample_solutions.py").read_text()


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def specs() -> tuple[RunSpec, RunSpec]:
    _, lessons = load_course_dir(SAMPLE_DIR)
    lesson = next(x for x in lessons if x.slug == "prompt-construction")
    scope: dict[str, object] = {}
    exec(compile(SOLUTION, "sample_solutions", "exec"), scope)
    code = str(scope["PROMPT_OK"])
    tests = tuple(HiddenTest(t.name, t.code, t.points, t.message) for t in lesson.hidden_tests)
    limits = Limits()
    plain = RunSpec(files={"main.py": code}, limits=limits)
    graded = RunSpec(files={"main.py": code}, limits=limits, grade=GradeSpec(tests, call_seconds=2.0))
    return plain, graded


async def bench(name: str, n: int) -> None:
    backend = get_backend(name)
    missing = backend.unavailable_reason()
    if missing is not None or not (await self_test(backend)).ok:
        print(f"{name:8} skipped: {missing[0] if missing else 'self-test failed'}")
        return
    plain, graded = specs()
    runs: list[float] = []
    checks: list[float] = []
    async with WarmPool(backend, size=2, limits=plain.limits) as pool:
        await pool.wait_warm()
        for i in range(2 * n + 2):
            spec = graded if i % 2 else plain
            t = time.perf_counter()
            res = await pool.run(spec)
            ms = (time.perf_counter() - t) * 1000
            if spec is graded:
                assert res.grade is not None and res.grade.score_fraction == 1.0, res
            if i >= 2:  # the first pair warms caches
                (checks if spec is graded else runs).append(ms)
            await pool.wait_warm()
    r50, c50 = pct(runs, 0.5), pct(checks, 0.5)
    print(
        f"{name:8} run p50 {r50:7.1f} ms p99 {pct(runs, 0.99):7.1f} ms | check (5 tests) p50 {c50:7.1f} ms "
        f"p99 {pct(checks, 0.99):7.1f} ms | check/run {c50 / r50:4.2f}"
    )


async def main(backends: list[str], n: int) -> None:
    for name in backends:
        await bench(name, n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="bwrap,nsjail,docker")
    parser.add_argument("--n", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.backends.split(","), args.n))
