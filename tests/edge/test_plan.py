"""``classroom plan``: the Erlang C cost model and its argument checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from classroom.sandboxes.plan import erlang_c, p_wait_over, plan, students_per_node


def test_erlang_c_matches_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = utilisation
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # textbook value for c=2, a=1
    assert erlang_c(4, 4.0) == 1.0  # saturated


def test_students_per_node_meets_the_p99_target_and_one_more_does_not() -> None:
    for vcpus in (2, 4, 8):
        n = students_per_node(vcpus, 0.45)
        assert p_wait_over(0.5, vcpus, n / 30, 0.45) <= 0.01 < p_wait_over(0.5, vcpus, (n + 1) / 30, 0.45)


def test_bigger_nodes_serve_more_students_each_and_nodes_cover_the_class() -> None:
    _service, rows = plan(1000)
    by_name = {r.node: r for r in rows}
    assert set(by_name) == {"CX22", "CX32", "CX42", "CPX31"}
    assert by_name["CX22"].students_per_node < by_name["CX32"].students_per_node < by_name["CX42"].students_per_node
    for row in rows:
        assert row.nodes * row.students_per_node >= 1000
        assert row.eur_per_student_hour == pytest.approx(row.nodes * row.eur_hour / 1000)


@pytest.mark.parametrize("bad", ["abc", "0", "-5", "1.5", "10000000"])
def test_bad_student_counts_get_a_clear_error(bad: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "classroom", "plan", "--students", bad], capture_output=True, text=True
    )
    assert done.returncode == 2 and "--students" in done.stderr and "Traceback" not in done.stderr


def test_plan_prints_a_row_per_node_type() -> None:
    done = subprocess.run([sys.executable, "-m", "classroom", "plan", "--students", "120"], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for name in ("CX22", "CX32", "CX42", "CPX31", "EUR/student-hour"):
        assert name in done.stdout
