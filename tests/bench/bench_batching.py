"""Order batching: how much walking the savings heuristic saves over first come first served.

    .venv/bin/python -m tests.bench.bench_batching
    .venv/bin/python -m tests.bench.bench_batching --orders 500 --size 12 --aisles 20 --bays 40

Random orders of 1 to 5 lines in a single-block layout, twice: bins drawn uniformly, and skewed
popularity (the bins nearest the depot, a fifth of them, get four lines in five). Prints the
total route length of each batching (every batch along its best route), the saving on first
come first served, and the time group_orders took. Target: well under 1 s for 200 orders.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from warehouse.batching import first_come_first_served, group_orders, total_route_m
from warehouse.routing import Layout, Stop

TARGET_MS = 1000.0
Orders = dict[int, list[Stop]]


def uniform_orders(rng: random.Random, layout: Layout, count: int) -> Orders:
    return {
        order: [
            Stop(rng.randint(1, layout.aisles), rng.randint(1, layout.bays))
            for _ in range(rng.randint(1, 5))
        ]
        for order in range(1, count + 1)
    }


def skewed_orders(rng: random.Random, layout: Layout, count: int) -> Orders:
    bins = [
        Stop(aisle, bay)
        for aisle in range(1, layout.aisles + 1)
        for bay in range(1, layout.bays + 1)
    ]
    bins.sort(
        key=lambda s: (
            abs(layout.aisle_x(s.aisle) - layout.depot_x) + layout.bay_y(s.bay),
            s.aisle,
            s.bay,
        )
    )
    fast, slow = bins[: len(bins) // 5], bins[len(bins) // 5 :]
    return {
        order: [rng.choice(fast if rng.random() < 0.8 else slow) for _ in range(rng.randint(1, 5))]
        for order in range(1, count + 1)
    }


def bench(layout: Layout, orders: Orders, size: int, runs: int) -> None:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        batches = group_orders(orders, size, layout)
        times.append((time.perf_counter() - started) * 1000)
    ids = sorted(orders)
    fcfs = first_come_first_served(ids, size)
    singles = first_come_first_served(ids, 1)
    fcfs_m = total_route_m(fcfs, orders, layout)
    rows = [
        ("savings heuristic", batches, total_route_m(batches, orders, layout)),
        ("first come first served", fcfs, fcfs_m),
        ("no batching (one order a trip)", singles, total_route_m(singles, orders, layout)),
    ]
    print(f"  {'':<32} {'batches':>7} {'total m':>9} {'m/order':>8} {'vs FCFS':>8}")
    for name, made, total in rows:
        change = 100 * (total / fcfs_m - 1)
        print(
            f"  {name:<32} {len(made):>7} {total:>9.0f} {total / len(orders):>8.1f} {change:>+7.1f}%"
        )
    median = statistics.median(times)
    verdict = "met" if max(times) <= TARGET_MS else "MISSED"
    print(
        f"  grouping took median {median:.0f} ms, worst {max(times):.0f} ms over {runs} runs "
        f"({verdict}: target {TARGET_MS:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--size", type=int, default=8, help="orders per batch (totes on a cart)")
    parser.add_argument("--aisles", type=int, default=10)
    parser.add_argument("--bays", type=int, default=30)
    parser.add_argument("--depot-x", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of group_orders")
    parser.add_argument("--seed", type=int, default=1999)
    args = parser.parse_args()
    layout = Layout(args.aisles, args.bays, depot_x=args.depot_x)
    print(
        f"{args.orders} random orders of 1 to 5 lines, batches of {args.size}, "
        f"{layout.aisles} aisles x {layout.bays} bays, depot at x = {layout.depot_x} m"
    )
    makers: list[tuple[str, Callable[[random.Random, Layout, int], Orders]]] = [
        ("uniform bins", uniform_orders),
        ("skewed: a fifth of the bins, nearest the depot, get 80% of lines", skewed_orders),
    ]
    for name, make in makers:
        print(f"{name}:")
        bench(layout, make(random.Random(args.seed), layout, args.orders), args.size, args.runs)


if __name__ == "__main__":
    main()
