"""Picking routes: the exact method against brute force over every order, and S-shape."""

from __future__ import annotations

import heapq
import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse.routing import (
    _CONFIGS,
    _LINKS,
    Layout,
    LayoutError,
    Route,
    Stop,
    _after_aisle,
    _after_link,
    route_stops,
)

Point = tuple[float, float]


# The aisle graph, built from the layout's description rather than from routing's code.
def front(layout: Layout) -> float:
    return -layout.cross_aisle_width / 2


def cross_aisles(layout: Layout) -> list[float]:
    """The centre lines of the cross aisles, front to back."""
    w, c = layout.bay_width, layout.cross_aisle_width
    middles = [
        after * w + k * c + c / 2 for k, after in enumerate(sorted(layout.middle_cross_aisles))
    ]
    return [-c / 2, *middles, layout.bays * w + len(middles) * c + c / 2]


def point(layout: Layout, stop: Stop) -> Point:
    crossed = sum(1 for after in layout.middle_cross_aisles if after < stop.bay)
    y = (stop.bay - 0.5) * layout.bay_width + crossed * layout.cross_aisle_width
    return ((stop.aisle - 1) * layout.aisle_spacing, y)


def depot(layout: Layout) -> Point:
    return (layout.depot_x, front(layout))


def aisle_graph(layout: Layout) -> dict[Point, list[tuple[Point, float]]]:
    """Walkable segments: along every aisle's centre line and every cross aisle's."""
    graph: dict[Point, list[tuple[Point, float]]] = {}

    def line(points: list[Point]) -> None:
        points = sorted(set(points))
        for one, other in itertools.pairwise(points):
            length = math.dist(one, other)
            graph.setdefault(one, []).append((other, length))
            graph.setdefault(other, []).append((one, length))

    xs = [(a - 1) * layout.aisle_spacing for a in range(1, layout.aisles + 1)]
    crossings = cross_aisles(layout)
    for aisle, x in enumerate(xs, start=1):
        bays = [point(layout, Stop(aisle, bay)) for bay in range(1, layout.bays + 1)]
        line(bays + [(x, y) for y in crossings])
    for y in crossings:
        line([(x, y) for x in xs] + ([depot(layout)] if y == front(layout) else []))
    return graph


def distances(graph: dict[Point, list[tuple[Point, float]]], source: Point) -> dict[Point, float]:
    """Dijkstra."""
    best = {source: 0.0}
    queue = [(0.0, source)]
    while queue:
        far, node = heapq.heappop(queue)
        if far > best[node]:
            continue
        for neighbour, length in graph[node]:
            if far + length < best.get(neighbour, math.inf):
                best[neighbour] = far + length
                heapq.heappush(queue, (far + length, neighbour))
    return best


def shortest_tour(dist: dict[Point, dict[Point, float]], start: Point, points: set[Point]) -> float:
    """The best over all orders of visiting points from start and back (Held and Karp)."""
    rest = sorted(points - {start})
    best = {(1 << i, i): dist[start][p] for i, p in enumerate(rest)}
    for size in range(2, len(rest) + 1):
        for chosen in itertools.combinations(range(len(rest)), size):
            mask = sum(1 << i for i in chosen)
            for last in chosen:
                before = mask & ~(1 << last)
                best[mask, last] = min(
                    best[before, i] + dist[rest[i]][rest[last]] for i in chosen if i != last
                )
    full = (1 << len(rest)) - 1
    return min((best[full, i] + dist[p][start] for i, p in enumerate(rest)), default=0.0)


def walked(layout: Layout, stops: list[Stop], route: Route) -> tuple[float, float]:
    """The shortest tour's length, and the route's order walked point to point."""
    graph = aisle_graph(layout)
    home = depot(layout)
    points = [point(layout, stop) for stop in stops]
    dist = {p: distances(graph, p) for p in {home, *points}}
    assert sorted(route.order) == list(range(len(stops)))
    path = [home, *(points[i] for i in route.order), home]
    length = sum(dist[one][other] for one, other in itertools.pairwise(path))
    return shortest_tour(dist, home, {home, *points}), length


def check(layout: Layout, stops: list[Stop]) -> None:
    exact = route_stops(layout, stops, "exact")
    s_shape = route_stops(layout, stops, "s-shape")
    best, length = walked(layout, stops, exact)
    assert exact.method == "exact"
    assert exact.length_m == pytest.approx(best, abs=1e-6)
    assert length == pytest.approx(exact.length_m, abs=1e-6)
    assert exact.length_m <= s_shape.length_m + 1e-9
    assert walked(layout, stops, s_shape)[1] <= s_shape.length_m + 1e-9
    assert route_stops(layout, stops) == exact


SIX = Layout(aisles=6, bays=8, bay_width=1.2, aisle_spacing=3.0, cross_aisle_width=2.5)
CASES = {
    "empty": (SIX, []),
    "one stop": (SIX, [Stop(4, 5)]),
    "one stop in the depot's aisle": (SIX, [Stop(1, 8)]),
    "one aisle": (SIX, [Stop(3, 2), Stop(3, 7), Stop(3, 4), Stop(3, 1)]),
    "first and last aisles": (SIX, [Stop(1, 3), Stop(6, 6), Stop(1, 7), Stop(6, 1)]),
    "bays 1 and B": (SIX, [Stop(2, 1), Stop(2, 8), Stop(5, 1), Stop(4, 8), Stop(3, 8)]),
    "repeated stops": (SIX, [Stop(2, 4), Stop(2, 4), Stop(5, 6), Stop(2, 4), Stop(5, 6)]),
    "depot at aisle 4": (
        Layout(6, 8, depot_x=9.0),
        [Stop(1, 2), Stop(6, 7), Stop(3, 5), Stop(4, 1)],
    ),
    "depot between aisles": (
        Layout(6, 8, depot_x=7.0),
        [Stop(1, 2), Stop(6, 7), Stop(3, 5), Stop(5, 8), Stop(2, 8)],
    ),
    "depot right of the stops": (Layout(6, 8, depot_x=15.0), [Stop(1, 6), Stop(2, 3)]),
    "depot past the last aisle": (Layout(3, 5, depot_x=10.0), [Stop(1, 1), Stop(3, 5)]),
    "depot one aisle past the last": (Layout(3, 5, depot_x=9.0), [Stop(2, 2)]),
    "depot left of aisle 1": (Layout(3, 5, depot_x=-6.0), [Stop(3, 4), Stop(1, 2)]),
    "no cross-aisle width": (Layout(4, 5, cross_aisle_width=0.0), [Stop(1, 1), Stop(4, 5)]),
    "one aisle layout": (Layout(1, 6), [Stop(1, 6), Stop(1, 2)]),
    "one bay layout": (Layout(5, 1), [Stop(1, 1), Stop(3, 1), Stop(5, 1)]),
    "nine stops": (
        SIX,
        [
            Stop(a, b)
            for a, b in [(1, 1), (2, 8), (2, 2), (3, 5), (4, 4), (4, 7), (5, 2), (6, 8), (6, 3)]
        ],
    ),
}


@pytest.mark.parametrize(("layout", "stops"), CASES.values(), ids=CASES.keys())
def test_exact_is_the_shortest_tour_over_every_order(layout: Layout, stops: list[Stop]) -> None:
    check(layout, stops)


def test_exact_on_random_lists() -> None:
    rng = random.Random(1983)
    for _ in range(150):
        aisles, bays = rng.randint(1, 7), rng.randint(1, 10)
        layout = Layout(
            aisles,
            bays,
            bay_width=rng.choice([0.8, 1.0, 1.2]),
            aisle_spacing=rng.choice([2.0, 3.0, 4.5]),
            cross_aisle_width=rng.choice([0.0, 2.0, 3.0]),
            depot_x=rng.choice([0.0, rng.uniform(0, aisles * 3.0)]),
        )
        size = rng.randint(0, 9)
        check(layout, [Stop(rng.randint(1, aisles), rng.randint(1, bays)) for _ in range(size)])


@st.composite
def layouts_and_stops(draw: st.DrawFn) -> tuple[Layout, list[Stop]]:
    aisles = draw(st.integers(1, 8))
    bays = draw(st.integers(1, 12))
    spacing = draw(st.sampled_from([1.5, 3.0, 4.2]))
    depot_x = draw(
        st.one_of(
            st.integers(0, aisles - 1).map(lambda a: a * spacing),
            st.floats(0, aisles * spacing, allow_nan=False),
        )
    )
    layout = Layout(
        aisles,
        bays,
        bay_width=draw(st.sampled_from([0.5, 1.0, 1.3])),
        aisle_spacing=spacing,
        cross_aisle_width=draw(st.sampled_from([0.0, 1.0, 2.5])),
        depot_x=depot_x,
    )
    stop = st.builds(Stop, st.integers(1, aisles), st.integers(1, bays))
    return layout, draw(st.lists(stop, max_size=9))


@settings(max_examples=200, deadline=None)
@given(layouts_and_stops())
def test_exact_is_the_shortest_tour_on_any_list(case: tuple[Layout, list[Stop]]) -> None:
    check(*case)


def test_shortest_tour_is_the_best_of_all_orders() -> None:
    """Held and Karp, used above as the brute force, against trying every permutation."""
    rng = random.Random(7)
    layout = Layout(4, 6, depot_x=4.0)
    dist_graph = aisle_graph(layout)
    for _ in range(20):
        points = {point(layout, Stop(rng.randint(1, 4), rng.randint(1, 6))) for _ in range(6)}
        home = depot(layout)
        dist = {p: distances(dist_graph, p) for p in {home, *points}}
        every = min(
            sum(dist[a][b] for a, b in itertools.pairwise([home, *order, home]))
            for order in itertools.permutations(points)
        )
        assert shortest_tour(dist, home, {home, *points}) == pytest.approx(every)


def test_a_route_worked_by_hand() -> None:
    layout = Layout(aisles=5, bays=8)  # aisles 10 m long from cross aisle to cross aisle
    stops = [Stop(2, 3), Stop(4, 8), Stop(4, 1), Stop(1, 5)]
    # Up aisle 1, over the back to 4, down it, over the front to 2, in to bay 3 and out, home;
    # or the same the other way round.
    route = route_stops(layout, stops)
    assert route.order in [(3, 1, 2, 0), (0, 2, 1, 3)]
    assert route.length_m == 10 + 9 + 10 + 6 + 7 + 3
    # S-shape: out to aisle 4 and home (9 + 9), through 1 and 2 (2 * 10), into 4 and out (2 * 8.5).
    assert route_stops(layout, stops, "s-shape") == Route((3, 0, 2, 1), 55.0, "s-shape")


def test_s_shape_picks_in_walking_order() -> None:
    layout = Layout(aisles=4, bays=10)
    stops = [Stop(3, 2), Stop(1, 9), Stop(1, 2), Stop(3, 9), Stop(2, 5), Stop(2, 1)]
    route = route_stops(layout, stops, "s-shape")
    # Aisle 1 up, 2 down, 3 (the last of an odd number) in from the front and back out.
    assert route.order == (2, 1, 4, 5, 0, 3)
    assert route.length_m == pytest.approx(6 + 12 + 12 + 2 * (8.5 + 1) + 6)


def test_the_seven_classes_are_closed_under_both_steps() -> None:
    classes = {(1, 1, 1), (2, 0, 1), (0, 2, 1), (2, 2, 1), (2, 2, 2), (0, 0, 0), (0, 0, 1)}
    reached = {_after_aisle(s, config) for s in classes for config in _CONFIGS}
    reached |= {_after_link(s, link) for s in classes for link in _LINKS}
    assert reached - {None} == classes


MULTI = Layout(aisles=5, bays=20, middle_cross_aisles=(10,))


def test_exact_needs_a_single_block() -> None:
    with pytest.raises(LayoutError, match="middle cross aisles after bays 10"):
        route_stops(MULTI, [Stop(1, 1)], "exact")


def test_best_falls_back_to_s_shape_on_several_blocks() -> None:
    rng = random.Random(2001)
    for _ in range(30):
        stops = [Stop(rng.randint(1, 5), rng.randint(1, 20)) for _ in range(rng.randint(1, 8))]
        route = route_stops(MULTI, stops)
        assert route == route_stops(MULTI, stops, "s-shape")
        assert walked(MULTI, stops, route)[1] <= route.length_m + 1e-9
    # The middle cross aisle lengthens the aisles: 20 m of bays, 2 m across it, 2 m to the ends.
    assert route_stops(MULTI, [Stop(2, 11), Stop(3, 11)]).length_m == 3 + 24 + 3 + 24 + 6


@pytest.mark.parametrize(
    ("stop", "problem"),
    [
        (Stop(0, 1), "aisle 0, bay 1"),
        (Stop(6, 1), "aisle 6, bay 1"),
        (Stop(1, 0), "aisle 1, bay 0"),
        (Stop(1, 9), "aisle 1, bay 9"),
    ],
)
def test_a_stop_outside_the_layout_is_refused(stop: Stop, problem: str) -> None:
    for method in ("best", "exact", "s-shape"):
        with pytest.raises(
            LayoutError,
            match=rf"Stop 1 \({problem}\) lies outside the layout: aisles are 1 to 5, bays 1 to 8",
        ):
            route_stops(Layout(5, 8), [Stop(1, 1), stop], method)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"aisles": 0}, "at least 1 aisle, not 0"),
        ({"bays": -3}, "at least 1 bay, not -3"),
        ({"bay_width": -1.0}, "bay_width must be a positive number of metres, not -1.0"),
        ({"bay_width": 0.0}, "bay_width must be a positive number of metres"),
        ({"aisle_spacing": -3.0}, "aisle_spacing must be a positive number of metres"),
        ({"cross_aisle_width": -2.0}, "cross_aisle_width must be 0 or more metres, not -2.0"),
        ({"depot_x": math.nan}, "depot_x must be a number of metres"),
        ({"middle_cross_aisles": (8,)}, "after a bay from 1 to 7, not after 8"),
        ({"middle_cross_aisles": (3, 3)}, "names a bay twice"),
    ],
)
def test_a_bad_layout_is_refused(fields: dict, problem: str) -> None:
    with pytest.raises(LayoutError, match=problem):
        Layout(**{"aisles": 5, "bays": 8, **fields})


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown routing method 'fastest'"):
        route_stops(SIX, [], "fastest")
