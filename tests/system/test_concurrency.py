"""Several processes changing the same stock at once: no update is lost, the invariants hold."""

from __future__ import annotations

import multiprocessing
import random
import secrets
from decimal import Decimal

from sqlalchemy.orm import Session

from tests.conftest import SHIP_TO, ApiClient, make_channel, make_location, make_product
from warehouse import catalog, invariants, inventory, orders
from warehouse.config import DatabaseConfig, WarehouseConfig
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.errors import Conflict, InsufficientStock
from warehouse.order_input import LineInput, OrderInput, ShipTo

PROCESSES = 6
ROUNDS = 40


def _worker(url: str, skus: list[str], bins: list[str], seed: int) -> int:
    """Receive and move stock at random; returns the units this process received."""
    rng = random.Random(seed)
    engine = make_engine(DatabaseConfig(url=url))
    factory = make_sessionmaker(engine)
    received = 0
    for _ in range(ROUNDS):
        sku = rng.choice(skus)
        source, target = rng.sample(bins, 2)
        qty = rng.randint(1, 5)
        try:
            with writing(factory) as session:
                if rng.random() < 0.5:
                    inventory.receive(session, None, sku, source, qty)
                    received += qty
                else:
                    inventory.move(session, None, sku, source, target, qty, anywhere=True)
        except InsufficientStock:
            pass  # the bin had fewer units than this move wanted: refused, nothing changed
    engine.dispose()
    return received


def test_concurrent_receipts_and_moves_lose_nothing(
    api: ApiClient, database_url: str, db: Session
) -> None:
    skus = [make_product(api)["sku"] for _ in range(2)]
    bins = [make_location(api) for _ in range(3)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        received = pool.starmap(
            _worker, [(database_url, skus, bins, seed) for seed in range(PROCESSES)]
        )
    on_hand = sum(api.get(f"/api/stock/{sku}").json["on_hand"] for sku in skus)
    assert on_hand == sum(received)
    db.rollback()
    assert invariants.check_invariants(db) == []


def _trader(url: str, skus: list[str], places: list[str], channel: str, seed: int) -> int:
    """Receive, move (into and out of quarantine too) and take orders at random; returns the
    units this process received."""
    rng = random.Random(seed)
    engine = make_engine(DatabaseConfig(url=url))
    factory = make_sessionmaker(engine)
    received = 0
    for _ in range(ROUNDS):
        sku, draw = rng.choice(skus), rng.random()
        source, target = rng.sample(places, 2)
        qty = rng.randint(1, 5)
        try:
            with writing(factory) as session:
                if draw < 0.4:
                    inventory.receive(session, None, sku, source, qty)
                    received += qty
                elif draw < 0.8:
                    inventory.move(session, None, sku, source, target, qty, anywhere=True)
                else:
                    order = OrderInput(
                        external_id=f"MIX-{secrets.token_hex(6)}",
                        lines=(LineInput(sku, qty, Decimal("5.00")),),
                        ship_to=ShipTo(**SHIP_TO),
                    )
                    orders.take_order(session, channel, order)
        except InsufficientStock:
            pass  # the place had fewer units than this move wanted: refused, nothing changed
    engine.dispose()
    return received


def _marker(url: str, code: str) -> int:
    """Mark a bin not for sale and for sale again, over and over; returns the marks made."""
    engine = make_engine(DatabaseConfig(url=url))
    factory = make_sessionmaker(engine)
    pattern, made = WarehouseConfig().location_pattern, 0
    for number in range(ROUNDS):
        try:
            with writing(factory) as session:
                catalog.put_location(session, code, pattern, sellable=number % 2 == 1)
            made += 1
        except Conflict as busy:
            # Units of another product arrived while it was being marked: tried again later.
            assert busy.code == "location_busy", busy
    engine.dispose()
    return made


def test_units_moved_and_marked_not_for_sale_at_once_stay_exact(
    api: ApiClient, database_url: str, db: Session
) -> None:
    skus = [make_product(api)["sku"] for _ in range(3)]
    bins = [make_location(api) for _ in range(3)]
    quarantine = make_location(api, sellable=False)
    channel = make_channel(api)
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES + 1) as pool:
        marks = pool.apply_async(_marker, (url := database_url, bins[0]))
        traders = [
            pool.apply_async(_trader, (url, skus, [*bins, quarantine], channel, seed))
            for seed in range(PROCESSES)
        ]
        received = sum(trader.get(timeout=600) for trader in traders)
        assert marks.get(timeout=600) > ROUNDS // 2
    on_hand = sum(api.get(f"/api/stock/{sku}").json["on_hand"] for sku in skus)
    assert on_hand == received
    db.rollback()
    assert invariants.check_invariants(db) == []
