"""Order batching: a partition into batches that fit, and routes shorter than first come first served."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.batching import first_come_first_served, group_orders, total_route_m
from warehouse.routing import Layout, LayoutError, Stop, route_stops

LAYOUT = Layout(aisles=10, bays=30)


def make_orders(rng: random.Random, count: int, layout: Layout = LAYOUT) -> dict[int, list[Stop]]:
    """Orders of 1 to 5 lines at random bins, under random (increasing) ids."""
    ids = sorted(rng.sample(range(1, 100_000), count))
    return {
        order: [
            Stop(rng.randint(1, layout.aisles), rng.randint(1, layout.bays))
            for _ in range(rng.randint(1, 5))
        ]
        for order in ids
    }


stop_lists = st.lists(
    st.builds(Stop, st.integers(1, LAYOUT.aisles), st.integers(1, LAYOUT.bays)), max_size=6
)


@settings(max_examples=200, deadline=None)
@given(
    orders=st.dictionaries(st.integers(1, 10_000), stop_lists, max_size=30), size=st.integers(1, 9)
)
def test_batches_partition_the_orders_and_fit_the_cart(
    orders: dict[int, list[Stop]], size: int
) -> None:
    batches = group_orders(orders, size, LAYOUT)

    grouped = [order for batch in batches for order in batch]
    assert sorted(grouped) == sorted(orders)
    assert all(1 <= len(batch) <= size for batch in batches)
    assert all(batch == sorted(batch) for batch in batches)
    assert batches == sorted(batches)
    # No two batches could have gone on one cart together.
    assert all(len(one) + len(other) > size for one, other in itertools.combinations(batches, 2))


@settings(max_examples=50, deadline=None)
@given(orders=st.dictionaries(st.integers(1, 10_000), stop_lists, max_size=20), seed=st.integers())
def test_the_same_orders_in_any_order_give_the_same_batches(
    orders: dict[int, list[Stop]], seed: int
) -> None:
    rng = random.Random(seed)
    shuffled = list(orders.items())
    rng.shuffle(shuffled)
    reordered = {order: rng.sample(stops, len(stops)) for order, stops in shuffled}

    assert group_orders(reordered, 4, LAYOUT) == group_orders(orders, 4, LAYOUT)


def test_no_orders_give_no_batches() -> None:
    assert group_orders({}, 8, LAYOUT) == []
    assert first_come_first_served([], 8) == []
    assert total_route_m([], {}, LAYOUT) == 0.0


def test_size_1_gives_one_batch_per_order() -> None:
    orders = make_orders(random.Random(1), 12)

    assert group_orders(orders, 1, LAYOUT) == [[order] for order in sorted(orders)]


def test_more_orders_than_fit_on_a_cart_make_more_batches() -> None:
    orders = make_orders(random.Random(2), 20)

    batches = group_orders(orders, 8, LAYOUT)

    assert len(batches) >= 3
    assert all(len(batch) <= 8 for batch in batches)


def test_orders_without_stops_are_batched_and_walk_nowhere() -> None:
    orders: dict[int, list[Stop]] = {7: [], 3: [], 5: []}

    assert group_orders(orders, 2, LAYOUT) == [[3, 5], [7]]
    assert total_route_m([[3, 5], [7]], orders, LAYOUT) == 0.0


def test_orders_without_stops_take_the_slots_left_over() -> None:
    orders = {1: [], 2: [Stop(3, 10)], 3: [Stop(3, 12)], 4: [Stop(3, 11)]}

    assert group_orders(orders, 3, LAYOUT) == [[1], [2, 3, 4]]
    assert group_orders(orders, 4, LAYOUT) == [[1, 2, 3, 4]]


def test_orders_alternating_between_the_far_aisles_are_kept_apart() -> None:
    # First come first served sends every cart to both ends of the warehouse.
    left, right = Stop(1, 28), Stop(LAYOUT.aisles, 28)
    orders = {order: [left if order % 2 else right] for order in range(1, 17)}

    batches = group_orders(orders, 8, LAYOUT)

    assert batches == [list(range(1, 17, 2)), list(range(2, 17, 2))]
    fcfs = first_come_first_served(sorted(orders), 8)
    assert total_route_m(batches, orders, LAYOUT) < total_route_m(fcfs, orders, LAYOUT)


def test_random_orders_walk_less_than_first_come_first_served() -> None:
    savings = []
    for seed in range(20):
        rng = random.Random(seed)
        orders = make_orders(rng, rng.randint(10, 60))
        size = rng.randint(2, 8)
        heuristic = total_route_m(group_orders(orders, size, LAYOUT), orders, LAYOUT)
        fcfs = total_route_m(first_come_first_served(sorted(orders), size), orders, LAYOUT)
        assert heuristic <= fcfs * 1.05, f"seed {seed}: {heuristic:.1f} m against {fcfs:.1f} m"
        savings.append(1 - heuristic / fcfs)
    assert statistics.mean(savings) > 0.10


def test_total_route_is_the_sum_of_each_batchs_best_route() -> None:
    orders = {1: [Stop(2, 5)], 2: [Stop(2, 9), Stop(4, 1)], 3: [Stop(9, 30)]}

    expected = (
        route_stops(LAYOUT, [Stop(2, 5), Stop(2, 9), Stop(4, 1)]).length_m
        + route_stops(LAYOUT, [Stop(9, 30)]).length_m
    )
    assert total_route_m([[1, 2], [3]], orders, LAYOUT) == pytest.approx(expected)


def test_first_come_first_served_keeps_the_order_given() -> None:
    assert first_come_first_served([9, 4, 7, 1, 8], 2) == [[9, 4], [7, 1], [8]]


@pytest.mark.parametrize("size", [0, -1, -8])
def test_a_batch_size_below_1_is_refused(size: int) -> None:
    orders = {1: [Stop(1, 1)]}
    with pytest.raises(ValueError, match=f"size must be 1 or more, not {size}"):
        group_orders(orders, size, LAYOUT)
    with pytest.raises(ValueError, match=f"size must be 1 or more, not {size}"):
        first_come_first_served([1], size)


def test_a_stop_outside_the_layout_is_refused() -> None:
    with pytest.raises(LayoutError, match=r"Order 4 has a stop \(aisle 11, bay 3\) outside"):
        group_orders({1: [Stop(1, 1)], 4: [Stop(11, 3)]}, 2, LAYOUT)
