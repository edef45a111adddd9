"""Picking routes: the order to walk a pick list's stops in, and how far that is.

The layout is the classic parallel-aisle warehouse: pick aisles side by side between a
front and a back cross aisle (optionally with middle cross aisles), the depot on the front
cross aisle. Pure code: no Flask, no database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

METHODS = ("best", "exact", "s-shape")


class LayoutError(ValueError):
    """A layout that cannot be, or a stop outside its layout."""


@dataclass(frozen=True)
class Layout:
    """Parallel pick aisles 1..aisles (left to right), bays 1..bays on both sides of each."""

    aisles: int
    bays: int
    bay_width: float = 1.0  # metres along an aisle per bay
    aisle_spacing: float = 3.0  # metres between the centre lines of neighbouring aisles
    cross_aisle_width: float = 2.0  # its centre line is half this beyond the last bay
    middle_cross_aisles: tuple[int, ...] = ()  # a middle cross aisle runs after each of these bays
    # The depot: on the front cross aisle's centre line, metres from aisle 1's (the front cross
    # aisle is taken to reach it, should it lie beyond the first or last aisle).
    depot_x: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.aisles < 1:
            problems.append(f"a layout needs at least 1 aisle, not {self.aisles}")
        if self.bays < 1:
            problems.append(f"an aisle needs at least 1 bay, not {self.bays}")
        for name in ("bay_width", "aisle_spacing"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                problems.append(f"{name} must be a positive number of metres, not {value}")
        if not (math.isfinite(self.cross_aisle_width) and self.cross_aisle_width >= 0):
            problems.append(
                f"cross_aisle_width must be 0 or more metres, not {self.cross_aisle_width}"
            )
        if not math.isfinite(self.depot_x):
            problems.append(f"depot_x must be a number of metres, not {self.depot_x}")
        for bay in self.middle_cross_aisles:
            if not 1 <= bay < self.bays:
                problems.append(
                    f"a middle cross aisle runs after a bay from 1 to {self.bays - 1}, not after {bay}"
                )
        if len(set(self.middle_cross_aisles)) != len(self.middle_cross_aisles):
            problems.append(f"middle_cross_aisles names a bay twice: {self.middle_cross_aisles}")
        if problems:
            raise LayoutError("Bad layout: " + "; ".join(problems) + ".")

    def aisle_x(self, aisle: int) -> float:
        """Where aisle's centre line runs, in metres from aisle 1's."""
        return (aisle - 1) * self.aisle_spacing

    def bay_y(self, bay: int) -> float:
        """The middle of bay along its aisle, in metres from the front end of the aisle."""
        crossed = sum(1 for after in self.middle_cross_aisles if after < bay)
        return (bay - 0.5) * self.bay_width + crossed * self.cross_aisle_width

    @property
    def front_y(self) -> float:
        """The front cross aisle's centre line (the depot's too)."""
        return -self.cross_aisle_width / 2

    @property
    def back_y(self) -> float:
        """The back cross aisle's centre line."""
        middles = len(self.middle_cross_aisles)
        return self.bays * self.bay_width + (middles + 0.5) * self.cross_aisle_width


@dataclass(frozen=True)
class Stop:
    """A place to pick at: both sides of an aisle are picked from its centre line."""

    aisle: int  # 1..aisles
    bay: int  # 1..bays


@dataclass(frozen=True)
class Route:
    """Stops in walking order, as indices into the stops given, and the walk's length."""

    order: tuple[int, ...]
    length_m: float  # depot -> stops -> depot, along aisles and cross aisles
    method: str  # "exact" or "s-shape"


def route_stops(layout: Layout, stops: Sequence[Stop], method: str = "best") -> Route:
    """Walking order and length: "exact" (single block only), "s-shape", or "best" of what applies."""
    if method not in METHODS:
        raise ValueError(f"unknown routing method {method!r}: use one of {', '.join(METHODS)}")
    for index, stop in enumerate(stops):
        if not (1 <= stop.aisle <= layout.aisles and 1 <= stop.bay <= layout.bays):
            raise LayoutError(
                f"Stop {index} (aisle {stop.aisle}, bay {stop.bay}) lies outside the layout: "
                f"aisles are 1 to {layout.aisles}, bays 1 to {layout.bays}."
            )
    if method == "best":
        method = "s-shape" if layout.middle_cross_aisles else "exact"
    if method == "s-shape":
        return _s_shape(layout, stops)
    if layout.middle_cross_aisles:
        raise LayoutError(
            "Exact routing needs a single-block layout, and this one has middle cross aisles "
            f"after bays {', '.join(map(str, layout.middle_cross_aisles))}: use s-shape."
        )
    return _exact(layout, stops)


def _s_shape(layout: Layout, stops: Sequence[Stop]) -> Route:
    """Traverse every aisle with a stop, left to right; return out of the last if their number is odd."""
    by_aisle: dict[int, list[int]] = {}
    for index, stop in enumerate(stops):
        by_aisle.setdefault(stop.aisle, []).append(index)
    aisles = sorted(by_aisle)
    if not aisles:
        return Route((), 0.0, "s-shape")
    first, last = layout.aisle_x(aisles[0]), layout.aisle_x(aisles[-1])
    # Out along the front cross aisle, across (alternating back and front), home along the front.
    length = abs(first - layout.depot_x) + (last - first) + abs(last - layout.depot_x)
    order: list[int] = []
    for number, aisle in enumerate(aisles):
        upwards = number % 2 == 0
        picks = sorted(
            by_aisle[aisle], key=lambda i: (stops[i].bay if upwards else -stops[i].bay, i)
        )
        if upwards and number == len(aisles) - 1:
            length += 2 * (layout.bay_y(stops[picks[-1]].bay) - layout.front_y)
        else:
            length += layout.back_y - layout.front_y
        order += picks
    return Route(tuple(order), length, "s-shape")


# The exact method: Ratliff and Rosenthal (1983), "Order-picking in a rectangular warehouse".
#
# Columns are the aisles from the leftmost to the rightmost one the tour must reach, plus a
# column of its own for a depot lying between aisles (no walking along it). Each column has a
# front node a (on the front cross aisle), a back node b, and the points to visit in between.
# The depot is such a point at zero distance above a: it must be covered like a stop, which
# puts it on the tour exactly (no approximation by the nearest aisle).
#
# A tour is an Eulerian connected multigraph on these nodes covering every point. Sweeping the
# columns left to right, the partial subgraph so far is summarised by the degrees of the current
# column's a and b (0, odd, or even and not 0) and how its pieces connect; every other node's
# degree is final, so it must be even, and every piece must still reach a or b (or be the whole
# finished tour). That leaves seven classes: (U,U,1C), (E,0,1C), (0,E,1C), (E,E,1C),
# (E,E,2C), (0,0,0C), (0,0,1C). Two steps alternate per column: the edges within the aisle
# (one of six configurations) and the edges to the next column (five front/back choices).
# Within an aisle no edge is needed more than twice and all of its segments have the same
# parity, so the optimal tour uses one of the six. The DP is linear in the number of columns.

State = tuple[int, int, int]  # (degree of a, degree of b, pieces); degrees: 0, 1 odd, 2 even
Node = tuple[int, int]  # (column, point)
Link = tuple[int, int]  # edges to the next column: (along the front, along the back)
_ODD, _EVEN = 1, 2
_NOTHING: State = (0, 0, 0)
_FINISHED: State = (0, 0, 1)

# Within an aisle: edges added at a and at b, and whether they join a and b.
_CONFIGS = {
    "none": (0, 0, False),
    "traverse": (1, 1, True),  # walk it end to end once
    "double": (2, 2, True),  # end to end and back
    "top": (0, 2, False),  # in from the back to the frontmost point and out again
    "bottom": (2, 0, False),  # in from the front to the backmost point and out again
    "gap": (2, 2, False),  # in from both ends, leaving out the largest gap between points
}
# To the next column; an odd count on one side only, or 1 beside 2, leaves a node odd.
_LINKS: tuple[Link, ...] = ((0, 0), (1, 1), (2, 0), (0, 2), (2, 2))


def _degree(before: int, added: int) -> int:
    if added == 0:
        return before
    return _ODD if (before == _ODD) != (added % 2 == 1) else _EVEN


@cache
def _after_aisle(state: State, config: str) -> State | None:
    """The class after adding a configuration's edges within the column; None if no tour follows."""
    if state == _FINISHED:
        return state if config == "none" else None
    front, back, pieces = state
    add_front, add_back, joins = _CONFIGS[config]
    front2, back2 = _degree(front, add_front), _degree(back, add_back)
    if front2 and back2:
        # A new stub at a node that had no edges is a piece of its own until something joins it.
        joined = joins or (pieces == 1 and front > 0 and back > 0)
        return (front2, back2, 1 if joined else 2)
    return (front2, back2, 1) if front2 or back2 else _NOTHING


@cache
def _after_link(state: State, link: Link) -> State | None:
    """The class at the next column after adding cross-aisle edges to it; None if no tour follows."""
    if state == _FINISHED:
        return state if link == (0, 0) else None
    front, back, pieces = state
    front_edges, back_edges = link
    if _degree(front, front_edges) == _ODD or _degree(back, back_edges) == _ODD:
        return None  # this column's a and b are done: an odd degree cannot be on a tour
    # Label the pieces; an edge from a node without edges starts a piece of its own.
    piece_a = 0 if front else None
    piece_b = (1 if pieces == 2 else 0) if back else None
    next_a = (piece_a if piece_a is not None else "a") if front_edges else None
    next_b = (piece_b if piece_b is not None else "b") if back_edges else None
    existing = {piece_a, piece_b} - {None}
    carried = {next_a, next_b} - {None}
    if existing - carried:  # a piece ends here: fine only if it is the whole tour
        return _FINISHED if len(existing) == 1 and not carried else None
    degrees = (_degree(0, front_edges), _degree(0, back_edges))
    if next_a is not None and next_b is not None:
        return (*degrees, 1 if next_a == next_b else 2)
    return (*degrees, 1 if carried else 0)


@dataclass(frozen=True)
class _Column:
    x: float
    ys: tuple[float, ...]  # a (front end), the points to visit from front to back, b (back end)
    aisle: int  # 0 for the depot's own column between two aisles, which is not walked along
    depot: bool  # then ys[1] is the depot, at the front end


def _columns(layout: Layout, stops: Sequence[Stop]) -> list[_Column]:
    """From the leftmost to the rightmost aisle (or depot) the tour must reach."""
    bays_by_aisle: dict[int, set[int]] = {}
    for stop in stops:
        bays_by_aisle.setdefault(stop.aisle, set()).add(stop.bay)
    xs = [layout.aisle_x(aisle) for aisle in bays_by_aisle] + [layout.depot_x]
    low, high = min(xs) - 1e-9, max(xs) + 1e-9
    at_depot = round(layout.depot_x / layout.aisle_spacing) + 1
    if not (
        1 <= at_depot <= layout.aisles
        and math.isclose(layout.aisle_x(at_depot), layout.depot_x, abs_tol=1e-9)
    ):
        at_depot = 0
    columns = []
    for aisle in range(1, layout.aisles + 1):
        x = layout.aisle_x(aisle)
        if low <= x <= high:
            depot = aisle == at_depot
            points = [layout.bay_y(bay) for bay in sorted(bays_by_aisle.get(aisle, ()))]
            ys = (layout.front_y, *([layout.front_y] if depot else []), *points, layout.back_y)
            columns.append(_Column(x, ys, aisle, depot))
    if not at_depot:
        ys = (layout.front_y, layout.front_y, layout.back_y)
        columns.append(_Column(layout.depot_x, ys, 0, True))
        columns.sort(key=lambda column: column.x)
    return columns


def _aisle_options(column: _Column) -> list[tuple[str, float]]:
    """The configurations that cover every point of the column, with their lengths."""
    ys = column.ys
    if not column.aisle:
        return [("bottom", 0.0)]  # out to the depot, which is on the front cross aisle
    length = ys[-1] - ys[0]
    if len(ys) == 2:
        return [("none", 0.0), ("traverse", length), ("double", 2 * length)]
    options = [
        ("traverse", length),
        ("double", 2 * length),
        ("top", 2 * (ys[-1] - ys[1])),
        ("bottom", 2 * (ys[-2] - ys[0])),
    ]
    if len(ys) > 3:
        gap = _largest_gap(ys)
        options.append(("gap", 2 * (length - (ys[gap + 1] - ys[gap]))))
    return options


def _largest_gap(ys: tuple[float, ...]) -> int:
    """The segment (ys[i], ys[i + 1]) between two points to visit that is longest."""
    return max(range(1, len(ys) - 2), key=lambda i: ys[i + 1] - ys[i])


def _segments(column: _Column, config: str) -> list[int]:
    """The segments (ys[i], ys[i + 1]) a configuration walks, each listed once per walk."""
    count = len(column.ys) - 1
    if config == "none":
        return []
    if config == "traverse":
        return list(range(count))
    if config == "double":
        left_out = -1
    elif config == "gap":
        left_out = _largest_gap(column.ys)
    else:
        left_out = 0 if config == "top" else count - 1
    return [i for i in range(count) if i != left_out for _ in range(2)]


Choice = TypeVar("Choice")


def _relax(
    costs: dict[State, float],
    options: list[tuple[Choice, float]],
    step: Callable[[State, Choice], State | None],
) -> tuple[dict[State, float], dict[State, tuple[State, Choice]]]:
    """One DP step: the cheapest way into each class, and where it came from."""
    best: dict[State, float] = {}
    came: dict[State, tuple[State, Choice]] = {}
    for state, cost in costs.items():
        for choice, extra in options:
            after = step(state, choice)
            if after is not None and cost + extra < best.get(after, math.inf):
                best[after] = cost + extra
                came[after] = (state, choice)
    return best, came


def _exact(layout: Layout, stops: Sequence[Stop]) -> Route:
    """The shortest tour (Ratliff and Rosenthal's DP), its edges walked as an Euler tour."""
    if not stops:
        return Route((), 0.0, "exact")
    columns = _columns(layout, stops)
    costs: dict[State, float] = {_NOTHING: 0.0}
    trail: list[tuple[dict[State, tuple[State, Link]], dict[State, tuple[State, str]]]] = []
    for number, column in enumerate(columns):
        links: dict[State, tuple[State, Link]] = {}
        if number:
            width = column.x - columns[number - 1].x
            link_options = [(link, (link[0] + link[1]) * width) for link in _LINKS]
            costs, links = _relax(costs, link_options, _after_link)
        costs, configs = _relax(costs, _aisle_options(column), _after_aisle)
        trail.append((links, configs))
    # A tour ends with a and b even and all in one piece.
    ends = {s: c for s, c in costs.items() if s[0] != _ODD and s[1] != _ODD and s[2] == 1}
    state = min(ends, key=lambda s: ends[s])
    length = ends[state]

    # Back through the choices, collecting the tour's edges between nodes (column, point).
    edges: list[tuple[Node, Node]] = []
    for number in range(len(columns) - 1, -1, -1):
        links, configs = trail[number]
        state, config = configs[state]
        edges += [((number, i), (number, i + 1)) for i in _segments(columns[number], config)]
        if number:
            state, (front_edges, back_edges) = links[state]
            back_end, before_back = len(columns[number].ys) - 1, len(columns[number - 1].ys) - 1
            edges += [((number - 1, 0), (number, 0))] * front_edges
            edges += [((number - 1, before_back), (number, back_end))] * back_edges

    # A stop is visited where the walk first reaches its point.
    at_node: dict[Node, list[int]] = {}
    number_of = {column.aisle: number for number, column in enumerate(columns)}
    for index, stop in enumerate(stops):
        number = number_of[stop.aisle]
        point = columns[number].ys.index(layout.bay_y(stop.bay), 1)
        at_node.setdefault((number, point), []).append(index)
    depot = next((number, 1) for number, column in enumerate(columns) if column.depot)
    order = [index for node in _euler_walk(edges, depot) for index in at_node.pop(node, [])]
    return Route(tuple(order), length, "exact")


def _euler_walk(edges: list[tuple[Node, Node]], start: Node) -> list[Node]:
    """The nodes of a closed walk from start using every edge once (Hierholzer)."""
    around: dict[Node, list[tuple[Node, int]]] = {start: []}
    for number, (one, other) in enumerate(edges):
        around.setdefault(one, []).append((other, number))
        around.setdefault(other, []).append((one, number))
    used = [False] * len(edges)
    stack, walk = [start], []
    while stack:
        node = stack[-1]
        pending = around[node]
        while pending and used[pending[-1][1]]:
            pending.pop()
        if pending:
            neighbour, number = pending.pop()
            used[number] = True
            stack.append(neighbour)
        else:
            walk.append(stack.pop())
    return walk[::-1]
