"""The supervisors' orders page: orders per channel and status, ship-by, and the exceptions to
act on, each linked to where it is settled."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_packing import pick_an_order
from tests.api.test_short_picks import short_at_first_bin
from tests.conftest import (
    ApiClient,
    Floor,
    free_port,
    make_channel,
    make_location,
    make_product,
    order_body,
    receive,
)
from warehouse import packing, printing
from warehouse.config import Config, PrinterConfig
from warehouse.db import writing


def test_counts_per_channel_and_status(api: ApiClient, floor: Callable[[str], Floor]) -> None:
    channel = make_channel(api)
    sku = make_product(api)["sku"]
    receive(api, sku, make_location(api), 3)
    for qty in (1, 1, 5):
        placed = api.post(
            f"/api/channels/{channel}/orders",
            order_body({sku: qty}, ship_by="2030-01-02T10:00:00Z"),
        )
        assert placed.status_code == 201, placed.json
    page = floor("supervisor").client.get("/orders")
    assert page.status_code == 200
    header = re.search(r'data-testid="counts".*?<tr>(.*?)</tr>', page.text, re.S)
    row = re.search(rf"<tr><td>{channel}</td>(.*?)</tr>", page.text, re.S)
    assert header is not None and row is not None
    statuses = re.findall(r"<th>(.*?)</th>", header[1])[1:]
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row[1], re.S)
    ]
    counts = {status: cell for status, cell in zip(statuses, cells, strict=True) if cell != "·"}
    assert counts == {"reserved": "2", "partial": "1"}
    listed = floor("supervisor").client.get(f"/orders?channel={channel}")
    assert listed.text.count("2030-01-02 10:00") == 3


def test_the_exceptions_are_listed_with_where_to_settle_them(
    api: ApiClient,
    floor: Callable[[str], Floor],
    factory: sessionmaker[Session],
    config: Config,
) -> None:
    channel = make_channel(api)
    short = short_at_first_bin(api, channel, found=1)
    picked: dict[str, Any] = pick_an_order(api)
    with writing(factory) as session:
        carton = packing.open_carton(session, picked["order"], "small", config.boxes).id
        packing.pack_item(session, carton, picked["heavy"], 2)
        assert (
            packing.close_carton(session, carton, 3000, config.boxes, config.packing).status
            == "held"
        )
    printers = {"off": PrinterConfig(kind="tcp", host="127.0.0.1", port=free_port())}
    with writing(factory) as session:
        job = printing.queue_job(session, printers, "off", "zpl", b"^XA^XZ", "label, test carton")
    printing.dispatch(factory, printers)
    page = floor("supervisor").client.get("/orders")
    assert page.status_code == 200
    shorts = re.findall(r'data-testid="short-pick">(.*?)</li>', page.text, re.S)
    assert any(
        f"order {short['order']}" in s and short["sku"] in s and "2 waiting" in s for s in shorts
    )
    held = re.findall(r'data-testid="held-carton">(.*?)</li>', page.text, re.S)
    assert any(f"order {picked['order']}" in h and "3000 g" in h for h in held)
    failed = re.findall(r'data-testid="failed-job">(.*?)</li>', page.text, re.S)
    assert any("label, test carton on off" in f and "/printing" in f for f in failed), failed
    assert "Errno" not in page.text and job.id
    assert floor("picker").client.get("/orders").status_code == 403
