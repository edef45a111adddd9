"""Picking routes: how much walking the exact method saves over S-shape, and how fast it is.

    .venv/bin/python -m tests.bench.bench_routing
    .venv/bin/python -m tests.bench.bench_routing --lists 5000 --aisles 20 --bays 40 --depot-x 28.5

Random pick lists of 5 to 60 stops (uniform over the bays) in a single-block layout; prints
the mean route length of each method and the saving by list size, then the time to route
one 60-stop list. Target: at most 5 ms per 60-stop route.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from warehouse.routing import Layout, Stop, route_stops

BUCKETS = [(5, 10), (11, 20), (21, 40), (41, 60)]
TARGET_MS = 5.0


def pick_list(rng: random.Random, layout: Layout, size: int) -> list[Stop]:
    return [Stop(rng.randint(1, layout.aisles), rng.randint(1, layout.bays)) for _ in range(size)]


def bench_lengths(layout: Layout, count: int, rng: random.Random) -> None:
    lengths: dict[tuple[int, int], list[tuple[float, float]]] = {bucket: [] for bucket in BUCKETS}
    for _ in range(count):
        stops = pick_list(rng, layout, rng.randint(5, 60))
        bucket = next(b for b in BUCKETS if b[0] <= len(stops) <= b[1])
        exact = route_stops(layout, stops, "exact").length_m
        s_shape = route_stops(layout, stops, "s-shape").length_m
        lengths[bucket].append((exact, s_shape))
    print(f"{'stops':>7} {'lists':>6} {'exact m':>9} {'s-shape m':>10} {'saving':>7}")
    every = [pair for pairs in lengths.values() for pair in pairs]
    for (low, high), pairs in [*lengths.items(), ((5, 60), every)]:
        if not pairs:
            continue
        exact = statistics.mean(e for e, _ in pairs)
        s_shape = statistics.mean(s for _, s in pairs)
        saving = 100 * (1 - exact / s_shape)
        print(f"{low:>3}-{high:<3} {len(pairs):>6} {exact:>9.1f} {s_shape:>10.1f} {saving:>6.1f}%")


def bench_time(layout: Layout, runs: int, rng: random.Random) -> None:
    lists = [pick_list(rng, layout, 60) for _ in range(runs)]
    for method in ("exact", "s-shape"):
        route_stops(layout, lists[0], method)  # warm up
        times = []
        for stops in lists:
            started = time.perf_counter()
            route_stops(layout, stops, method)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p50, p99 = statistics.median(times), times[int(len(times) * 0.99)]
        verdict = "met" if p99 <= TARGET_MS else "MISSED"
        print(
            f"  {method}: median {p50:.2f} ms, p99 {p99:.2f} ms per route ({verdict}: target {TARGET_MS:.0f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lists", type=int, default=1000)
    parser.add_argument("--aisles", type=int, default=10)
    parser.add_argument("--bays", type=int, default=30)
    parser.add_argument("--depot-x", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=2000, help="60-stop lists to time")
    parser.add_argument("--seed", type=int, default=1983)
    args = parser.parse_args()
    layout = Layout(args.aisles, args.bays, depot_x=args.depot_x)
    rng = random.Random(args.seed)
    print(
        f"{args.lists} random pick lists, {layout.aisles} aisles x {layout.bays} bays "
        f"(bay {layout.bay_width} m, aisles {layout.aisle_spacing} m apart, "
        f"cross aisles {layout.cross_aisle_width} m), depot at x = {layout.depot_x} m"
    )
    bench_lengths(layout, args.lists, rng)
    print(f"time to route one 60-stop list, over {args.runs} lists:")
    bench_time(layout, args.runs, rng)


if __name__ == "__main__":
    main()
