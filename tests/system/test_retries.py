"""Retries after a lost answer, against gunicorn: a receipt sent at once by many clients under
one Idempotency-Key books once, and an app server killed with SIGKILL in the middle of a load
leaves every request either done or applied exactly once when retried with its key.
tests/pg runs these again on PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from tests.conftest import running_service, serving, warehouse_command
from warehouse import catalog, invariants
from warehouse.config import Config, DatabaseConfig
from warehouse.db import make_engine, make_sessionmaker, writing
from warehouse.models import Movement, Product

SKUS = ["RETRY-1", "RETRY-2", "RETRY-3"]
BIN = "A01-01-1"


def prepare(url: str) -> str:
    """A database with the SKUs and a bin, and a receiver's token."""
    warehouse_command(url, "init")
    warehouse_command(url, "user", "add", "dock-bot", "--role", "receiver")
    config = Config(database=DatabaseConfig(url=url))
    engine = make_engine(config.database)
    with writing(make_sessionmaker(engine)) as session:
        catalog.put_location(session, BIN, config.warehouse.location_pattern)
        for sku in SKUS:
            catalog.put_product(session, sku, catalog.ProductSpec(name=sku))
    engine.dispose()
    return warehouse_command(url, "token", "create", "dock-bot").strip()


def post_receipt(base: str, token: str, body: dict[str, Any], key: str) -> tuple[int, Any]:
    """POST a receipt with its key: the status and the JSON answer (raises OSError when the
    connection is lost)."""
    request = urllib.request.Request(
        f"{base}/api/stock/receipts",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def books(url: str) -> tuple[dict[str, int], int]:
    """Units on hand per SKU, and how many receipt movements there are."""
    engine = make_engine(DatabaseConfig(url=url))
    with make_sessionmaker(engine)() as session:
        on_hand = {
            sku: units for sku, units in session.execute(select(Product.sku, Product.on_hand))
        }
        receipts = session.scalar(
            select(func.count()).select_from(Movement).where(Movement.kind == "receive")
        )
        assert invariants.check_invariants(session) == []
    engine.dispose()
    return {sku: int(units) for sku, units in on_hand.items()}, int(receipts or 0)


def test_one_key_sent_by_many_clients_at_once_books_once(empty_database_url: str) -> None:
    url = empty_database_url
    token = prepare(url)
    body = {"sku": SKUS[0], "location": BIN, "qty": 7}
    clients = 12
    start = threading.Barrier(clients)

    def send(_: int) -> tuple[int, Any]:
        start.wait()
        return post_receipt(base, token, body, "one-receipt-key")

    with running_service(url, workers=4) as base, ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(send, range(clients)))
    assert {status for status, _ in answers} == {201}, answers
    assert len({json.dumps(answer, sort_keys=True) for _, answer in answers}) == 1
    assert books(url) == ({SKUS[0]: 7, SKUS[1]: 0, SKUS[2]: 0}, 1)


@dataclass
class Sent:
    """A request a client made, and the answer it got (None: the connection was lost)."""

    key: str
    body: dict[str, Any]
    answer: tuple[int, Any] | None = None
    tries: list[str] = field(default_factory=list)


def test_a_server_killed_mid_load_leaves_every_request_done_once_after_retries(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    token = prepare(url)
    sent: list[Sent] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(me: int, base: str) -> None:
        rng = random.Random(me)
        for n in range(10_000):
            if stop.is_set():
                return
            request = Sent(f"load-{me}-{n}", {"sku": rng.choice(SKUS), "location": BIN,
                                              "qty": rng.randint(1, 5)})  # fmt: skip
            with lock:
                sent.append(request)
            try:
                request.answer = post_receipt(base, token, request.body, request.key)
            except OSError:
                return  # the server is gone: this request may or may not have been applied

    with serving(url, workers=2) as (base, server):
        threads = [threading.Thread(target=load, args=(me, base)) for me in range(4)]
        for thread in threads:
            thread.start()
        # Killed once it is busy: every worker and the master at once, mid-request.
        while sum(1 for each in sent if each.answer) < 60:
            stop.wait(0.01)
        os.killpg(server.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=60)
    stop.set()
    lost = [each for each in sent if each.answer is None]
    assert lost, "the kill came after every request had its answer"
    assert all(each.answer == (201, each.answer[1]) for each in sent if each.answer)

    with running_service(url, workers=2) as base:
        # Every request whose answer was lost is sent again with its key; a sample of the
        # answered ones too, which must be answered as the first time and change nothing.
        for each in lost:
            status, answer = post_receipt(base, token, each.body, each.key)
            assert status == 201, answer
        for each in random.Random(0).sample([s for s in sent if s.answer], 20):
            assert post_receipt(base, token, each.body, each.key) == each.answer
    wanted = {sku: 0 for sku in SKUS}
    for each in sent:
        wanted[each.body["sku"]] += each.body["qty"]
    assert books(url) == (wanted, len(sent))
    assert "All stock invariants hold" in warehouse_command(url, "check")
