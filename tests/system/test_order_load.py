"""Many processes posting orders through gunicorn at once: nothing oversold, nothing doubled.

8 client processes post 2,000 orders in all for 20 SKUs whose stock covers about half the
demand, some of them twice from two processes at the same moment. Afterwards every SKU is
reserved up to its stock and no further, every external id exists once, and `warehouse
check` passes. tests/pg runs this again on PostgreSQL, and with two app servers.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import urllib.error
import urllib.request
from collections import Counter
from contextlib import ExitStack
from typing import Any

from sqlalchemy import func, select

from tests.conftest import SHIP_TO, running_service, warehouse_command
from warehouse import catalog, channels, invariants, inventory
from warehouse.config import Config, DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.models import Order, OrderLine, Product

CLIENTS = 8
ORDERS = 2000
SKUS = [f"LOAD-{n:02d}" for n in range(20)]
CHANNEL = "load"


def order_for(number: int) -> dict[str, Any]:
    """Order `number`, the same every time it is made (so a repeat is a true replay)."""
    rng = random.Random(number)
    return {
        "external_id": f"L-{number:05d}",
        "lines": [
            {"sku": sku, "qty": rng.randint(1, 3)} for sku in rng.sample(SKUS, rng.randint(1, 3))
        ],
        "ship_to": SHIP_TO,
    }


def demand() -> Counter[str]:
    wanted: Counter[str] = Counter()
    for number in range(ORDERS):
        for line in order_for(number)["lines"]:
            wanted[line["sku"]] += line["qty"]
    return wanted


def client(bases: list[str], token: str, me: int) -> list[int]:
    """Post this client's share of the orders, and every 10th order of the next client too,
    at the same moment that client posts it. Returns the status codes."""
    statuses = []
    mine = range(me, ORDERS, CLIENTS)
    for step, number in enumerate(mine):
        numbers = [number]
        twin = number - me + (me - 1) % CLIENTS  # the order the previous client posts now
        if twin % 10 == 0 and 0 <= twin < ORDERS:
            numbers.append(twin)
        for n in numbers:
            request = urllib.request.Request(
                f"{bases[(step + me) % len(bases)]}/api/channels/{CHANNEL}/orders",
                data=json.dumps(order_for(n)).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
    return statuses


def prepare(url: str) -> str:
    """Migrate, add the SKUs with stock for about half their demand, the channel and a token."""
    warehouse_command(url, "init")
    warehouse_command(url, "user", "add", "load-bot", "--role", "integration")
    token = warehouse_command(url, "token", "create", "load-bot").strip()
    config = Config(database=DatabaseConfig(url=url))
    engine = make_engine(config.database)
    with writing(make_sessionmaker(engine)) as session:
        catalog.put_location(session, "A01-01-1", config.warehouse.location_pattern)
        channels.put_channel(session, CHANNEL, "Load test")
        for sku, wanted in demand().items():
            catalog.put_product(session, sku, catalog.ProductSpec(name=sku))
            inventory.receive(session, None, sku, "A01-01-1", wanted // 2)
    engine.dispose()
    return token


def hammer(url: str, servers: int) -> None:
    token = prepare(url)
    with ExitStack() as stack:
        bases = [
            stack.enter_context(running_service(url, workers=4 // servers)) for _ in range(servers)
        ]
        with multiprocessing.get_context("spawn").Pool(CLIENTS) as pool:
            results = pool.starmap(client, [(bases, token, me) for me in range(CLIENTS)])
    statuses = Counter(status for result in results for status in result)
    replays = sum(len(result) for result in results) - ORDERS
    assert statuses == {201: ORDERS, 200: replays}, statuses

    engine = make_engine(DatabaseConfig(url=url))
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(func.count(func.distinct(Order.external_id)))) == ORDERS
        assert session.scalar(select(func.count()).select_from(Order)) == ORDERS
        wanted = demand()
        for sku, on_hand, reserved in session.execute(
            select(Product.sku, Product.on_hand, Product.reserved)
        ):
            # Stock covers half the demand, so every unit is reserved, and not one more.
            assert reserved == min(on_hand, wanted[sku]), sku
        held = session.scalar(select(func.sum(OrderLine.reserved)))
        assert held == session.scalar(select(func.sum(Product.reserved)))
        assert invariants.check_invariants(session) == []
    engine.dispose()
    assert "All stock invariants hold" in warehouse_command(url, "check")


def test_many_clients_never_oversell_or_double_an_order(empty_database_url: str) -> None:
    hammer(empty_database_url, servers=1)
