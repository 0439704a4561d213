"""Execution benchmark: `print(1)` latency per backend, cold and from the warm pool, next to a bare
`python3 -c pass` measured in the same run, and throughput at concurrency 1/2/4.

    .venv/bin/python load/bench_exec.py [--backends bwrap,nsjail,docker] [--n 40]

Target: warm-pool p50 at or below bare `python3 -c pass` (ratio <= 1.0). Warm runs and bare starts are
interleaved, so both see the same load on a shared machine. "warm" is the whole `pool.run()`: send the
program, run it, collect the result, destroy the sandbox (its replacement warms after the run). Backends that
are not usable here are listed with the reason and skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from execution import Limits, RunSpec, Verdict, WarmPool, get_backend, self_test
from execution.languages import get_language

LIMITS = Limits()
SPEC = RunSpec(files={"main.py": "print(1)"}, limits=LIMITS)


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def fmt(samples: list[float]) -> str:
    return f"p50 {pct(samples, 0.5):7.1f} ms  p99 {pct(samples, 0.99):7.1f} ms"


def bare(n: int, python: str) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([python, "-c", "pass"], check=True)
        out.append((time.perf_counter() - t) * 1000)
    return out


async def cold(name: str, n: int) -> list[float]:
    backend, out = get_backend(name), []
    for _ in range(n):
        t = time.perf_counter()
        async with backend.sandbox(LIMITS) as sb:
            res = await sb.run(SPEC)
            out.append((time.perf_counter() - t) * 1000)
        assert res.verdict == Verdict.OK and res.stdout == "1\n", res
    return out


async def warm_and_bare(pool: WarmPool, n: int, python: str) -> tuple[list[float], list[float]]:
    """Warm-pool runs interleaved with bare interpreter starts, so both see the same machine load."""
    w, b = [], []
    for _ in range(n):
        await asyncio.wait_for(pool.wait_warm(), 60)
        b += bare(1, python)
        t = time.perf_counter()
        res = await pool.run(SPEC)
        w.append((time.perf_counter() - t) * 1000)
        assert res.verdict == Verdict.OK and res.stdout == "1\n", res
    return w, b


async def throughput(pool: WarmPool, concurrency: int, total: int) -> float:
    await asyncio.wait_for(pool.wait_warm(), 60)
    todo = iter(range(total))

    async def worker() -> None:
        for _ in todo:
            res = await pool.run(SPEC)
            assert res.verdict == Verdict.OK, res

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - t)


async def bench(name: str, n: int, python: str) -> None:
    backend = get_backend(name)
    missing = backend.unavailable_reason()
    if missing:
        print(f"{name:7s} skipped: {missing[0]} (fix: {missing[1]})")
        return
    report = await self_test(backend)
    if not report.ok:
        print(f"{name:7s} skipped: self-test failed: {'; '.join(report.failures)}")
        return
    slow = name == "docker"
    n_cold = max(5, n // (6 if slow else 3))
    n_warm = max(10, n // 2) if slow else n
    c = await cold(name, n_cold)
    async with WarmPool(name, size=4, limits=LIMITS) as pool:
        w, b = await warm_and_bare(pool, n_warm, python)
        tput = {k: await throughput(pool, k, 10 if slow else 40) for k in (1, 2, 4)}
    ratio = statistics.median(w) / statistics.median(b)
    print(f"{name:7s} cold  {fmt(c)}   (n={len(c)})")
    print(f"{name:7s} warm  {fmt(w)}   (n={len(w)})")
    print(f"{name:7s} bare  {fmt(b)}   ({python} -c pass, interleaved with warm, n={len(b)})")
    print(f"{name:7s} ratio warm p50 / bare p50 = {ratio:.2f}  ({'meets' if ratio <= 1.0 else 'misses'} target <= 1.0)")
    print(f"{name:7s} throughput  " + "  ".join(f"c={k}: {v:5.1f} runs/s" for k, v in tput.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="bwrap,nsjail,docker")
    ap.add_argument("--n", type=int, default=60, help="warm iterations (cold: n/3; docker: fewer)")
    args = ap.parse_args()
    python = get_language("python").interpreter  # the interpreter the sandboxes run
    for name in args.backends.split(","):
        asyncio.run(bench(name.strip(), args.n, python))


if __name__ == "__main__":
    main()
