"""How web replicas split the cluster's slot units (:func:`actors.fleet.fair_share`): the shares add up to the
capacity exactly, whatever the number of edges, so no replica's slot actors wait for units another one holds."""

from __future__ import annotations

import pytest

from actors.fleet import fair_share


@pytest.mark.parametrize("capacity", range(0, 9))
@pytest.mark.parametrize("edges", [1, 2, 3, 5])
def test_the_shares_add_up_to_the_capacity(capacity: int, edges: int) -> None:
    names = [f"node{i}" for i in range(edges)]
    shares = [fair_share(capacity, names, me) for me in names]
    assert sum(shares) == capacity
    assert max(shares) - min(shares) <= 1


def test_a_node_lost_shrinks_every_share_and_the_order_does_not_depend_on_the_listing() -> None:
    assert [fair_share(4, ["b", "a"], me) for me in ("a", "b")] == [2, 2]
    assert [fair_share(2, ["b", "a"], me) for me in ("a", "b")] == [1, 1]
    assert [fair_share(3, ["b", "a"], me) for me in ("a", "b")] == [2, 1]
    assert fair_share(1, ["a", "b"], "b") == 0  # the other replica's dispatcher serves b's queued runs


def test_a_driver_on_a_node_that_is_no_edge_counts_as_one_more() -> None:
    assert fair_share(4, ["a"], "worker") == 2
    assert fair_share(4, [], "solo") == 4
