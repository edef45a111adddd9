"""Channel events pushed to a local receiver: how many per second the service delivers while
orders flood in, the order intake rate at its peak in the same run, and the time from the
dock scan that ships an order to its order.shipped event at the receiver.

    .venv/bin/python -m tests.bench.bench_events [--db sqlite|pg] [--orders 2000]
        [--clients 8] [--workers 2] [--shipped 30] [--seconds]

The service runs under gunicorn on a new database (a temporary SQLite file, or a database of
its own on the PostgreSQL server of WAREHOUSE_TEST_PG_URL) with the channel's events URL
pointing at an HTTP server in this process, which checks every signature with the Standard
Webhooks library (tests/receiver.py).

1. Flood: `--clients` processes post `--orders` orders of 3 lines at once (POST
   /api/channels/{code}/orders, stock for about half the demand). Intake is timed per order
   as it is answered; delivery by each event's arrival at the receiver. Delivery keeps up
   when 99% of events reach the receiver within 1 s of the change they tell, and the last
   soon after the last order is taken.
2. Dock scan to event: `--shipped` orders (after a few to warm up), each picked over the API
   and packed at station pack1 through the pack flow, are loaded at the dock (/api/floor/dock,
   as the dock page's script sends it: the packing slip, then the carton's label). The clock
   starts just before the POST of the label scan that ships the order, and stops when the
   receiver has the order's order.shipped event. Target: under 1 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.bench.bench_orders import CHANNEL, database, order_for, prepare
from tests.conftest import free_port, running_service
from tests.printer import FakePrinter
from tests.receiver import Receiver
from tests.system.test_label_service import (
    Api,
    Packer,
    picked_order,
    set_up_users,
    station_config,
    stocked_products,
)
from warehouse.config import DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.models import Channel, ChannelEvent, EventStatus

TARGET_S = 1.0
WARM_UP = 3


def post_orders(base: str, token: str, numbers: list[int]) -> list[tuple[int, float]]:
    """Post these orders one after another; (status, wall-clock time answered) of each."""
    parts = urlsplit(base)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answered = []
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    for number in numbers:
        connection.request(
            "POST", f"/api/channels/{CHANNEL}/orders", json.dumps(order_for(number)), headers
        )
        response = connection.getresponse()
        response.read()
        answered.append((response.status, time.time()))
    connection.close()
    return answered


def wall(monotonic_at: float) -> float:
    """A time.monotonic() reading of this process as wall-clock time."""
    return time.time() - (time.monotonic() - monotonic_at)


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def peak_per_second(times: list[float]) -> int:
    """The most of these moments falling in one second (windows of 1 s, sliding)."""
    times, best, start = sorted(times), 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] > 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def flood(
    base: str,
    token: str,
    count: int,
    clients: int,
    receiver: Receiver,
    factory: sessionmaker[Session],
    show_seconds: bool,
) -> None:
    shares = [list(range(me, count, clients)) for me in range(clients)]
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        # Every client process started (each takes a second of sleep) before the clock starts.
        pool.map(time.sleep, [1.0] * clients, chunksize=1)
        started = time.time()
        results = pool.starmap(post_orders, [(base, token, share) for share in shares])
    answers = [answer for result in results for answer in result]
    taken_at = [at for status, at in answers if status == 201]
    intake_end = max(taken_at)

    def backlog() -> int:
        with factory() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(ChannelEvent)
                    .where(ChannelEvent.status.in_((EventStatus.PENDING, EventStatus.SENDING)))
                )
                or 0
            )

    # Looked at every 0.1 s rather than at each arrival: a count per delivery would take the
    # receiver's time (and SQLite's) from the deliveries it measures.
    deadline = time.monotonic() + 600
    while backlog():
        assert time.monotonic() < deadline, "timed out waiting for every event delivered"
        time.sleep(0.1)
    with factory() as session:
        delivered = select(func.count()).where(ChannelEvent.status == EventStatus.DELIVERED)
        events = int(session.scalar(delivered) or 0)
    flood_arrivals = [a for a in receiver.acknowledged(CHANNEL) if wall(a.at) >= started]
    arrived = [wall(a.at) for a in flood_arrivals]
    # Each event from its writing (the change's commit) to its arrival at the receiver.
    lag_ms = sorted(
        (wall(a.at) - datetime.fromisoformat(a.event["created_at"]).timestamp()) * 1000
        for a in flood_arrivals
    )
    last = max(arrived)
    intake_s, delivery_s = intake_end - started, last - started
    statuses = Counter(status for status, _ in answers)
    print(f"  flood: {count} orders of 3 lines from {clients} clients; statuses {dict(statuses)}")
    print(
        f"  intake: {len(taken_at) / intake_s:.0f} orders/s over {intake_s:.1f} s, peak "
        f"{peak_per_second(taken_at)} orders in one second; {events} events to push "
        f"({events / intake_s:.0f} events/s written)"
    )
    print(
        f"  delivery: {len(arrived)} deliveries, {len(arrived) / delivery_s:.0f} events/s from "
        f"the flood's start to the last event at the receiver ({delivery_s:.1f} s), peak "
        f"{peak_per_second(arrived)} in one second; the last arrived "
        f"{last - intake_end:.2f} s after the last order was taken"
    )
    print(
        f"  each event from its change to the receiver: median {statistics.median(lag_ms):.0f} "
        f"ms, p99 {percentile(lag_ms, 0.99):.0f} ms, max {lag_ms[-1]:.0f} ms"
    )
    if show_seconds:
        print("  second: orders taken, events arrived")
        for second in range(int(delivery_s) + 1):
            taken = sum(started + second <= at < started + second + 1 for at in taken_at)
            got = sum(started + second <= at < started + second + 1 for at in arrived)
            print(f"    {second:3d}: {taken:4d} {got:5d}")
    kept_up = last - intake_end < TARGET_S and percentile(lag_ms, 0.99) < TARGET_S * 1000
    print(
        f"  delivery kept up with intake (99% of events at the receiver within {TARGET_S:.0f} s "
        f"of their change, the backlog gone within {TARGET_S:.0f} s): {'yes' if kept_up else 'no'}"
    )


def dock_latency(base: str, api: Api, packer_name: str, receiver: Receiver, shipped: int) -> None:
    (sku,) = stocked_products(api, 1, qty=shipped + WARM_UP)
    orders = [picked_order(api, CHANNEL, {sku: 1}) for _ in range(shipped + WARM_UP)]
    packer = Packer(base, packer_name)
    to_event, scan_answer = [], []

    def shipped_event(order: int) -> float | None:
        for arrival in receiver.acknowledged(CHANNEL):
            if arrival.event["type"] == "order.shipped" and arrival.event["data"]["id"] == order:
                return arrival.at
        return None

    for number, order in enumerate(orders):
        packer.pack(order, [[sku]])
        (carton,) = api.shipment(order)["cartons"]
        assert packer.scan("dock", f"O{order:08d}").json()["state"] == {"order": order}
        started = time.monotonic()
        loaded = packer.scan("dock", f"]C100{carton['sscc']}")
        answered = time.monotonic()
        assert loaded.json()["outcome"] == "good", loaded.text
        arrived = receiver.wait_for(lambda: shipped_event(order), 30, "order.shipped")  # noqa: B023
        if number >= WARM_UP:
            to_event.append(arrived - started)
            scan_answer.append(answered - started)
    packer.close()
    ms = sorted(seconds * 1000 for seconds in to_event)
    p99 = percentile(ms, 0.99)
    print(
        f"  dock scan -> order.shipped at the receiver, {len(ms)} orders ({WARM_UP} more to "
        f"warm up): median {statistics.median(ms):.0f} ms, p99 {p99:.0f} ms, max {ms[-1]:.0f} "
        f"ms; the scan's own answer: median {statistics.median(scan_answer) * 1000:.0f} ms"
    )
    over = sum(m >= TARGET_S * 1000 for m in ms)
    print(f"  target: under {TARGET_S * 1000:.0f} ms: {over} of {len(ms)} over")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shipped", type=int, default=30)
    parser.add_argument(
        "--seconds", action="store_true", help="orders taken and events arrived, second by second"
    )
    args = parser.parse_args()
    with database(args.db) as url, tempfile.TemporaryDirectory() as folder, Receiver() as receiver:
        token = prepare(url, args.orders)
        admin_token, packer_name = set_up_users(url)
        engine = make_engine(DatabaseConfig(url=url))
        factory = make_sessionmaker(engine)
        with writing(factory) as session:
            channel = session.scalars(select(Channel).where(Channel.code == CHANNEL)).one()
            receiver.expect(CHANNEL, channel.webhook_secret)
            session.execute(
                update(Channel)
                .where(Channel.code == CHANNEL)
                .values(events_url=receiver.url(CHANNEL))
            )
        printer_port = free_port()
        config = station_config(Path(folder), printer_port)
        env = {"WAREHOUSE_CONFIG": str(config)}
        with (
            FakePrinter(printer_port),
            running_service(url, workers=args.workers, env=env) as base,
        ):
            print(
                f"events to a local receiver: gunicorn {args.workers} workers, "
                f"{'SQLite' if args.db == 'sqlite' else 'PostgreSQL'}"
            )
            flood(base, token, args.orders, args.clients, receiver, factory, args.seconds)
            api = Api(base, admin_token)
            dock_latency(base, api, packer_name, receiver, args.shipped)
            api.close()
        assert receiver.forged == [], "a delivery's signature did not verify"
        print(f"  signatures checked: {len(receiver.arrivals)} deliveries, every one verified")
        engine.dispose()


if __name__ == "__main__":
    main()
