"""Order intake throughput: over HTTP (gunicorn), through the domain function, and by CSV.

    .venv/bin/python -m tests.bench.bench_orders http --db sqlite
    .venv/bin/python -m tests.bench.bench_orders http --db pg
    .venv/bin/python -m tests.bench.bench_orders domain --db sqlite
    .venv/bin/python -m tests.bench.bench_orders csv --db sqlite --lines 100000

Each run makes a database of its own (a temporary SQLite file, or a new database on the
PostgreSQL server of WAREHOUSE_TEST_PG_URL), loads products with stock for about half
the demand, and prints what it measured. Orders have 3 lines.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import multiprocessing
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from tests.conftest import REPO, SHIP_TO, WAREHOUSE, running_service, warehouse_command
from warehouse import catalog, channels, inventory, order_input, orders
from warehouse.config import Config, DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker, writing

PG_ADMIN = os.environ.get(
    "WAREHOUSE_TEST_PG_URL", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
SKUS = [f"B-{n:03d}" for n in range(200)]
CHANNEL = "bench"


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A new, empty database; dropped (or deleted) afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    name = f"warehouse_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def order_for(number: int, lines: int = 3) -> dict:
    rng = random.Random(number)
    return {
        "external_id": f"B-{number:07d}",
        "lines": [{"sku": sku, "qty": rng.randint(1, 3)} for sku in rng.sample(SKUS, lines)],
        "ship_to": SHIP_TO,
    }


def prepare(url: str, orders_expected: int) -> str:
    """Schema, products with stock for about half of the expected demand, channel, token."""
    warehouse_command(url, "init")
    warehouse_command(url, "user", "add", "bench-bot", "--role", "integration")
    token = warehouse_command(url, "token", "create", "bench-bot").strip()
    config = Config(database=DatabaseConfig(url=url))
    engine = make_engine(config.database)
    per_sku = max(1, orders_expected * 3 * 2 // len(SKUS) // 2)
    with writing(make_sessionmaker(engine)) as session:
        catalog.put_location(session, "A01-01-1", config.warehouse.location_pattern)
        channels.put_channel(session, CHANNEL, "Benchmark")
        for sku in SKUS:
            catalog.put_product(session, sku, catalog.ProductSpec(name=sku))
            inventory.receive(session, None, sku, "A01-01-1", per_sku)
    engine.dispose()
    return token


def _client(base: str, token: str, numbers: list[int]) -> tuple[list[int], list[float]]:
    parts = urlsplit(base)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [json.dumps(order_for(n)).encode() for n in numbers]
    statuses, latencies = [], []
    for body in bodies:
        started = time.perf_counter()
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        connection.request("POST", f"/api/channels/{CHANNEL}/orders", body, headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        latencies.append(time.perf_counter() - started)
        statuses.append(response.status)
    return statuses, latencies


def bench_http(kind: str, count: int, clients: int, workers: int) -> None:
    with database(kind) as url:
        token = prepare(url, count)
        with running_service(url, workers=workers) as base:
            _client(base, token, [count + n for n in range(20)])  # warm the workers up
            shares = [list(range(me, count, clients)) for me in range(clients)]
            with multiprocessing.get_context("spawn").Pool(clients) as pool:
                started = time.perf_counter()
                results = pool.starmap(_client, [(base, token, share) for share in shares])
                elapsed = time.perf_counter() - started
        statuses = Counter(s for result in results for s in result[0])
        latencies = sorted(t for result in results for t in result[1])
        check = warehouse_command(url, "check").strip()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"http {kind}: {count} orders of 3 lines, {clients} clients, gunicorn {workers} workers")
    print(
        f"  {count / elapsed:.0f} orders/s; latency p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; statuses {dict(statuses)}"
    )
    print(f"  {check}")


def bench_domain(kind: str, count: int) -> None:
    with database(kind) as url:
        prepare(url, count)
        engine = make_engine(DatabaseConfig(url=url))
        factory = make_sessionmaker(engine)
        from tests.system.test_order_load import SHIP_TO as _  # noqa: F401  (same ship-to)

        inputs = [
            order_input.OrderInput(
                external_id=body["external_id"],
                lines=tuple(
                    order_input.LineInput(line["sku"], line["qty"]) for line in body["lines"]
                ),
                ship_to=order_input.ShipTo(**body["ship_to"]),
            )
            for body in (order_for(n) for n in range(count))
        ]
        started = time.perf_counter()
        for order in inputs:
            with writing(factory) as session:
                orders.take_order(session, CHANNEL, order)
        elapsed = time.perf_counter() - started
        engine.dispose()
    print(f"domain {kind}: {count} orders of 3 lines, one transaction each, one process")
    print(f"  {count / elapsed:.0f} orders/s ({count * 3 / elapsed:.0f} lines/s)")


def write_csv(path: Path, lines: int) -> int:
    orders_written = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "external_id",
                "sku",
                "qty",
                "unit_price",
                "ship_to_name",
                "ship_to_street1",
                "ship_to_city",
                "ship_to_postal_code",
                "ship_to_country",
            ]
        )
        number = 0
        while number * 3 < lines:
            for line in order_for(number)["lines"]:
                writer.writerow(
                    [
                        f"C-{number:07d}",
                        line["sku"],
                        line["qty"],
                        "9.99",
                        "Ann Lee",
                        "1 Main Street",
                        "Springfield",
                        "62701",
                        "US",
                    ]
                )
            number += 1
            orders_written += 1
    return orders_written


def bench_csv(kind: str, lines: int) -> None:
    with database(kind) as url, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.csv"
        count = write_csv(path, lines)
        prepare(url, count)
        env = {
            **os.environ,
            "WAREHOUSE_CONFIG": str(REPO / "config.toml"),
            "WAREHOUSE_DATABASE_URL": url,
        }
        started = time.perf_counter()
        done = subprocess.run(
            [str(WAREHOUSE), "import", "orders", str(path), "--channel", CHANNEL],
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if done.returncode != 0:
            sys.exit(done.stdout + done.stderr)
        check = warehouse_command(url, "check").strip()
    size_mb = path.stat().st_size / 1e6 if path.exists() else 0
    print(f"csv {kind}: {lines} order lines ({count} orders)")
    print(
        f"  {lines / elapsed:.0f} lines/s ({elapsed:.1f} s); peak memory of the import {peak_mb:.0f} MB"
    )
    print(f"  {done.stdout.strip().splitlines()[-1]}")
    print(f"  {check}")
    del size_mb


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["http", "domain", "csv"])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--orders", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    if args.mode == "http":
        bench_http(args.db, args.orders, args.clients, args.workers)
    elif args.mode == "domain":
        bench_domain(args.db, args.orders)
    else:
        bench_csv(args.db, args.lines)


if __name__ == "__main__":
    main()
