"""``classroom plan --students N``: how many sandbox nodes of each Hetzner type a class of N students needs,
and what it costs per student-hour.

The model, from our own benchmark (``load/bench_scale.py --write`` stores its figure in ``capacity.json``):

- each student submits one run per 30 s, so runs arrive at ``N / 30`` per second (Poisson);
- a run costs ``S`` core-seconds: the measured cost of a trivial run in a sandbox (start, Python, exit) plus the
  student code's own CPU (``student_code_core_seconds``, 0.2 s for a typical exercise);
- a node offers one sandbox slot per vCPU, each serving a run in ``S`` seconds;
- the queue is M/M/c (Erlang C): the probability that a run waits longer than ``t`` is
  ``C(c, a) * exp(-(c - a) * t / S)`` with ``a = λ S``. A node type serves the largest N whose p99 wait is
  at most 0.5 s; a class larger than one node needs ``ceil`` of that many nodes (each its own queue: the
  dispatcher balances across them, which only makes waits shorter).

The control plane (web replicas, Ray head, PostgreSQL, Redis) is a fixed cost outside this table.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom.errors import SettingsError
from classroom.settings import Settings

CAPACITY = Path(__file__).with_name("capacity.json")
RUN_EVERY_SECONDS = 30.0
P99_WAIT_SECONDS = 0.5
MAX_STUDENTS = 1_000_000


@dataclass(frozen=True)
class NodePlan:
    node: str
    vcpus: int
    students_per_node: int
    nodes: int
    eur_hour: float
    eur_per_student_hour: float


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits (M/M/c with ``servers`` and offered load ``load`` < servers)."""
    if load >= servers:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k!, summed for k < c
    for k in range(1, servers):
        term *= load / k
        total += term
    top = term * load / servers * servers / (servers - load)
    return top / (total + top)


def p_wait_over(t: float, servers: int, rate: float, service: float) -> float:
    load = rate * service
    if load >= servers:
        return 1.0
    return erlang_c(servers, load) * math.exp(-(servers - load) * t / service)


def students_per_node(vcpus: int, service: float) -> int:
    """The most students one node of ``vcpus`` serves with p99 queue wait <= 0.5 s (binary search)."""
    low, high = 0, int(vcpus / service * RUN_EVERY_SECONDS) + 1
    while low < high:
        mid = (low + high + 1) // 2
        if p_wait_over(P99_WAIT_SECONDS, vcpus, mid / RUN_EVERY_SECONDS, service) <= 0.01:
            low = mid
        else:
            high = mid - 1
    return low


def load_capacity(path: Path = CAPACITY) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def plan(students: int, data: dict[str, Any] | None = None) -> tuple[float, list[NodePlan]]:
    data = data or load_capacity()
    service = float(data["measured"]["core_seconds_per_trivial_run"]) + float(data["student_code_core_seconds"])
    rows = []
    for name, node in data["nodes"].items():
        per_node = students_per_node(int(node["vcpus"]), service)
        nodes = max(1, math.ceil(students / per_node)) if per_node else 0
        hour = float(node["eur_month"]) / float(data["hours_per_month"])
        rows.append(NodePlan(name, int(node["vcpus"]), per_node, nodes, hour, nodes * hour / students))
    return service, rows


def _students(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if not 1 <= value <= MAX_STUDENTS:
        raise argparse.ArgumentTypeError(f"{value} is out of range: expected 1 to {MAX_STUDENTS}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = sub.add_parser(
        "plan",
        help="sandbox nodes and cost per student-hour for N students (Hetzner node types)",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    cmd.add_argument("--students", type=_students, required=True, help="students working at once (1 or more)")
    cmd.set_defaults(func=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        data = load_capacity()
    except (OSError, ValueError, KeyError) as exc:
        raise SettingsError(f"cannot read {CAPACITY.name}: {exc}") from None
    service, rows = plan(args.students, data)
    measured = data["measured"]
    print(
        f"{args.students} students, one run per {RUN_EVERY_SECONDS:g} s each ({args.students / RUN_EVERY_SECONDS:.1f}"
        f" runs/s); a run costs {service:.2f} core-s ({measured['core_seconds_per_trivial_run']} measured by"
        f" load/bench_scale.py on {measured['date']} + {data['student_code_core_seconds']} of student code);"
        f" p99 queue wait <= {P99_WAIT_SECONDS} s"
    )
    print(f"{'node':<6} {'vCPU':>4} {'students/node':>13} {'nodes':>5} {'EUR/hour':>9} {'EUR/student-hour':>16}")
    for row in rows:
        print(
            f"{row.node:<6} {row.vcpus:>4} {row.students_per_node:>13} {row.nodes:>5} {row.nodes * row.eur_hour:>9.4f}"
            f" {row.eur_per_student_hour:>16.5f}"
        )
    print("sandbox worker nodes only; add the control plane (web x2, Ray head, PostgreSQL, Redis) as a fixed cost")
    return 0
