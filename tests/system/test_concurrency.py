"""Several processes changing the same stock at once: no update is lost, the invariants hold."""

from __future__ import annotations

import multiprocessing
import random

from sqlalchemy.orm import Session

from tests.conftest import ApiClient, make_location, make_product
from warehouse import invariants, inventory
from warehouse.config import DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.errors import InsufficientStock

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
