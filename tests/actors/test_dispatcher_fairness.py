"""The fair order (a pure function: no database, no Ray)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from actors.fairness import Fairness
from actors.queue import QueuedRun

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(n: int, user: str, room: str | None = None, priority: int = 0) -> QueuedRun:
    return QueuedRun(f"r{n}", user, room, None, priority, T0 + timedelta(seconds=n))


def drain(fair: Fairness, queued: list[QueuedRun], slots: int = 1) -> list[str]:
    """The order runs start in when each run ends before the next pick (one slot)."""
    order, waiting = [], list(queued)
    while waiting:
        pick = fair.pick(waiting, {})
        assert pick is not None
        fair.served(pick)
        waiting.remove(pick)
        order.append(pick.id)
    return order


def test_round_robin_across_users_and_fifo_within_one() -> None:
    flood = [run(i, "a") for i in range(5)]
    single = run(10, "b")
    order = drain(Fairness(), [*flood, single])
    assert order.index("r10") <= 1  # b waits for at most one of a's runs
    assert [r for r in order if r != "r10"] == ["r0", "r1", "r2", "r3", "r4"]


def test_one_running_run_per_student() -> None:
    fair = Fairness()
    assert fair.pick([run(1, "a"), run(2, "a")], {"a": 1}) is None
    picked = fair.pick([run(1, "a"), run(2, "b")], {"a": 1})
    assert picked is not None and picked.user == "b"


def test_an_instructors_demo_run_goes_first_even_while_they_run_another() -> None:
    fair = Fairness()
    queued = [run(1, "s1"), run(2, "s2"), run(3, "teacher", "demo", priority=1)]
    picked = fair.pick(queued, {"teacher": 1})
    assert picked is not None and picked.id == "r3"


def test_rooms_take_turns_among_new_users() -> None:
    fair = Fairness()
    fair.served(run(0, "x", "room1"))
    picked = fair.pick([run(1, "a", "room1"), run(2, "b", "room2")], {})
    assert picked is not None and picked.room == "room2"


def test_position_is_the_place_in_the_fair_order() -> None:
    fair = Fairness()
    fair.served(run(0, "a"))
    queued = [run(1, "a"), run(2, "b")]
    assert fair.position(queued, "r2") == 1 and fair.position(queued, "r1") == 2
