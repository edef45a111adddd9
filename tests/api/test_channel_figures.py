"""Which channels pay (GET /api/figures/channels): a history of orders on three channels with
different fees, received on known days and shipped at known times, then cancelled,
backordered and returned, gives exactly the figures worked out here by hand."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_order_list import shipped_off
from tests.api.test_picking import layout_bin
from tests.conftest import (
    ApiClient,
    Floor,
    make_channel,
    make_product,
    order_body,
    receive,
    ref,
)
from warehouse.config import Config
from warehouse.models import Order, Shipment

DAY = datetime(2026, 3, 10, tzinfo=UTC)


def product(api: ApiClient, cost: str, units: int) -> str:
    sku = str(make_product(api, weight_g=300, unit_cost=cost)["sku"])
    receive(api, sku, layout_bin(api), units)
    return sku


def order(api: ApiClient, channel: str, sku: str, qty: int, price: str, **fields: Any) -> int:
    body = order_body({sku: qty}, **fields)
    body["lines"][0]["unit_price"] = price
    answer = api.post(f"/api/channels/{channel}/orders", body)
    assert answer.status_code == 201, answer.json
    return int(answer.json["id"])


def received_at(factory: sessionmaker[Session], order_id: int, at: datetime) -> None:
    with factory.begin() as session:
        session.execute(update(Order).where(Order.id == order_id).values(created_at=at))


def handed_over_at(factory: sessionmaker[Session], order_id: int, at: datetime) -> None:
    with factory.begin() as session:
        session.execute(update(Shipment).where(Shipment.order_id == order_id).values(shipped_at=at))


def nothing(channel: str, **figures: Any) -> dict[str, Any]:
    """A channel's figures for a period without orders, but for these."""
    zero = {
        "channel": channel, "orders": 0, "units": 0,
        "revenue": "0.00", "fees": "0.00", "cost": "0.00", "margin": "0.00",
        "cancelled_orders": 0, "backordered_units": 0, "returned_units": 0,
        "return_rate": None, "order_to_ship_hours_median": None,
        "order_to_ship_hours_p90": None, "shipped_on_time_rate": None,
    }  # fmt: skip
    return {**zero, **figures}


def figures(api: ApiClient, first: str, last: str) -> dict[str, dict[str, Any]]:
    answer = api.get(f"/api/figures/channels?from={first}&to={last}")
    assert answer.status_code == 200, answer.json
    assert (answer.json["from"], answer.json["to"]) == (first, last)
    return {one["channel"]: one for one in answer.json["channels"]}


def test_each_channel_s_figures_are_those_of_its_orders(
    api: ApiClient, factory: sessionmaker[Session], config: Config
) -> None:
    market = make_channel(api, fee_percent=10, fee_fixed=0.5)
    shop = make_channel(api, fee_percent=0, fee_fixed=1)
    quiet = make_channel(api)
    cheap, dear = product(api, "2.00", 10), product(api, "7.50", 3)

    # market: 3 shipped at 4 h (on time), 2 cancelled.
    sent = order(api, market, cheap, 3, "5.00", ship_by="2026-03-10T18:00:00Z")
    dropped = order(api, market, cheap, 2, "5.00")
    assert api.post(f"/api/orders/{dropped}/cancel").status_code == 200
    # shop: 1 dear shipped at 30 h (late), then returned; 4 cheap shipped at 10 h.
    late = order(api, shop, dear, 1, "25.00", ship_by="2026-03-11T08:00:00Z")
    # market again: 5 dear, of which the 2 left are held and 3 wait for stock, until the
    # unit returned below fills one.
    waiting = order(api, market, dear, 5, "20.00")
    quick = order(api, shop, cheap, 4, "4.00")
    # The day before: outside a period of one day.
    before = order(api, shop, cheap, 1, "4.00")

    for order_id, sku, qty in ((sent, cheap, 3), (late, dear, 1), (quick, cheap, 4)):
        shipped_off(api, factory, config, order_id, sku, qty)
    for order_id, hour in ((sent, 8), (dropped, 9), (waiting, 10), (late, 6), (quick, 12)):
        received_at(factory, order_id, DAY + timedelta(hours=hour))
    received_at(factory, before, DAY - timedelta(hours=1))
    handed_over_at(factory, sent, DAY + timedelta(hours=12))
    handed_over_at(factory, late, DAY + timedelta(hours=36))
    handed_over_at(factory, quick, DAY + timedelta(hours=22))
    returned = api.post(
        "/api/returns",
        {"order_id": late, "sku": dear, "qty": 1, "reason": "dented", "location": layout_bin(api)},
    )
    assert returned.status_code == 201, returned.json

    day = figures(api, "2026-03-10", "2026-03-10")
    # market: revenue 3 x 5.00 shipped (the rest did not ship); fees 10% + 0.50 for the one
    # order that shipped; cost 3 x 2.00.
    assert day[market] == nothing(
        market, orders=3, units=10, revenue="15.00", fees="2.00", cost="6.00", margin="7.00",
        cancelled_orders=1, backordered_units=2, return_rate=0.0,
        order_to_ship_hours_median=4.0, order_to_ship_hours_p90=4.0, shipped_on_time_rate=1.0,
    )  # fmt: skip
    # shop: revenue 25.00 + 16.00; fees 1.00 per shipped order; cost 7.50 + 8.00; one unit
    # of five back; shipped after 30 h and 10 h; one of them had a ship-by, and missed it.
    assert day[shop] == nothing(
        shop, orders=2, units=5, revenue="41.00", fees="2.00", cost="15.50", margin="23.50",
        returned_units=1, return_rate=0.2,
        order_to_ship_hours_median=20.0, order_to_ship_hours_p90=30.0, shipped_on_time_rate=0.0,
    )  # fmt: skip
    assert day[quiet] == nothing(quiet)

    # The same as a spreadsheet: a row per channel, the JSON's names for its columns.
    sheet = api.get("/api/figures/channels?from=2026-03-10&to=2026-03-10&format=csv")
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    assert "channels-2026-03-10-2026-03-10.csv" in sheet.headers["Content-Disposition"]
    rows = {row["channel"]: row for row in csv.DictReader(io.StringIO(sheet.text))}
    assert set(rows) == set(day)
    for code, row in rows.items():
        assert row == {k: "" if v is None else str(v) for k, v in day[code].items()}

    # Two days: the order of the day before counts too (not shipped: no fee for it).
    both = figures(api, "2026-03-09", "2026-03-10")[shop]
    assert (both["orders"], both["units"], both["fees"]) == (3, 6, "2.00")
    assert Decimal(both["margin"]) == Decimal("23.50")


def test_a_period_is_checked_and_only_leads_see_figures(
    api: ApiClient, client: Any, tokens: dict[str, str]
) -> None:
    for query, field in (
        ("from=2026-03-11&to=2026-03-10", "from"),
        ("from=2020-01-01&to=2026-03-10", "from"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
    ):
        answer = api.get(f"/api/figures/channels?{query}")
        assert answer.status_code == 422, (query, answer.json)
        assert answer.json["error"]["field"] == field, (query, answer.json)
    # A code a spreadsheet would read as a formula stays text there.
    code = "-" + ref("a1").lower()
    assert api.put(f"/api/channels/{code}", {"name": "Dash"}).status_code == 201
    sheet = api.get("/api/figures/channels?format=csv").text
    assert f"\n'{code}," in sheet and f"\n{code}," not in sheet
    today = datetime.now(UTC).date().isoformat()
    answer = api.get("/api/figures/channels")
    assert answer.status_code == 200 and answer.json["from"] == answer.json["to"] == today
    for role, status in (("picker", 403), ("integration", 403), ("supervisor", 200)):
        seen = client.get(
            "/api/figures/channels", headers={"Authorization": f"Bearer {tokens[role]}"}
        )
        assert seen.status_code == status, role


def test_the_figures_page_sets_each_channel_beside_its_period_before(
    api: ApiClient, factory: sessionmaker[Session], floor: Callable[[str], Floor]
) -> None:
    shop = make_channel(api, fee_fixed=1)
    sku = product(api, "1.00", 5)
    today, yesterday = (datetime.now(UTC) - timedelta(days=n) for n in (0, 1))
    for qty in (2, 1):
        order(api, shop, sku, qty, "3.00")
    earlier = order(api, shop, sku, 1, "3.00")
    received_at(factory, earlier, yesterday)
    lead = floor("supervisor")
    html = lead.client.get("/figures?period=today").text
    card = re.search(rf'<li data-channel="{shop}">(.*?)</li>', html, re.S)
    assert card is not None
    cells = dict(re.findall(r'data-testid="(\w+)"[^>]*>([^<]*)<', card[1]))
    # Two orders today, nothing shipped yet; the one of yesterday beside them.
    assert (cells["orders"], cells["revenue"], cells["margin"]) == ("2", "0.00", "0.00")
    assert re.search(r'data-testid="orders">2</td><td>1</td>', card[1])
    assert re.search(r'data-testid="revenue">0.00</td><td>0.00</td>', card[1])
    day = today.date().isoformat()
    assert f'href="/api/figures/channels?from={day}&amp;to={day}&amp;format=csv"' in html
    # Days chosen: from yesterday to today counts all three.
    both = lead.client.get(f"/figures?period=range&from={yesterday.date()}&to={day}").text
    assert re.search(rf'data-channel="{shop}">.*?data-testid="orders">3<', both, re.S)
    # A period that is no period says so, and shows this week.
    wrong = lead.client.get("/figures?period=range&from=2026-03-10&to=2026-03-01")
    assert wrong.status_code == 422 and "the first on or before the last" in wrong.text
    assert 'href="/figures"' in lead.client.get("/").text
    for role in ("picker", "packer", "receiver"):
        assert floor(role).client.get("/figures").status_code == 403
