"""The planning desk: orders chosen by channel and ship-by or one by one, the carts proposed
(orders, lines, units, walk) and created only as shown, once confirmed."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.api.test_picking import layout_bin, place_order
from tests.conftest import ApiClient, Floor, make_channel, make_product, receive


def orders_to_plan(api: ApiClient, count: int) -> tuple[str, list[int]]:
    channel = make_channel(api)
    sku = make_product(api)["sku"]
    receive(api, sku, layout_bin(api, 2), 5 * count)
    return channel, [place_order(api, channel, {sku: 2})["id"] for _ in range(count)]


def lists_of(api: ApiClient, orders: list[int]) -> list[list[int]]:
    """The orders of each open list that holds any of these orders."""
    found = []
    for pick_list in api.get("/api/pick-lists").json["pick_lists"]:
        held = sorted(slot["order"] for slot in pick_list["orders"])
        if set(held) & set(orders):
            found.append(held)
    return found


def carts_of(page: str) -> list[str]:
    return re.findall(r'name="cart" value="([\d,]+)"', page)


def test_preview_then_create_the_carts_shown(api: ApiClient, floor: Callable[[str], Floor]) -> None:
    channel, orders = orders_to_plan(api, 3)
    lead = floor("supervisor")
    listed = lead.client.get(f"/plan?channel={channel}")
    assert listed.status_code == 200
    assert all(f'value="{order}"' in listed.text for order in orders)
    preview = lead.client.get(f"/plan?channel={channel}&cart=2&preview=1")
    assert preview.status_code == 200 and 'data-testid="proposal"' in preview.text
    carts = carts_of(preview.text)
    assert sorted(int(o) for cart in carts for o in cart.split(",")) == orders
    assert [len(cart.split(",")) for cart in carts] == [2, 1]
    assert re.search(r"<td>\d+ m</td>", preview.text)
    # Previewing held nothing: the orders are still free for any list.
    assert api.get(f"/api/orders/{orders[0]}").json["status"] == "reserved"
    unconfirmed = lead.form("/plan", cart=carts)
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    assert api.get(f"/api/orders/{orders[0]}").json["status"] == "reserved"
    made = lead.form("/plan", cart=carts, confirm="yes")
    assert made.status_code == 201 and "are open for pickers" in made.text
    lists = lists_of(api, orders)
    assert sorted(lists) == sorted(sorted(int(o) for o in cart.split(",")) for cart in carts)
    # The same carts again: their orders are taken, nothing more is made.
    again = lead.form("/plan", cart=carts, confirm="yes")
    assert again.status_code == 409 and "Not made" in again.text
    assert len(lists_of(api, orders)) == 2


def test_ticked_orders_make_one_cart(api: ApiClient, floor: Callable[[str], Floor]) -> None:
    channel, orders = orders_to_plan(api, 3)
    lead = floor("supervisor")
    preview = lead.client.get(
        f"/plan?channel={channel}&order={orders[0]}&order={orders[2]}&preview=1"
    )
    assert carts_of(preview.text) == [f"{orders[0]},{orders[2]}"]


def test_bad_choices_are_said(api: ApiClient, floor: Callable[[str], Floor]) -> None:
    lead = floor("supervisor")
    for query, message in (
        ("ship_by=2026-02-30&preview=1", "is not a date"),
        ("cart=99&preview=1", "A cart takes 1 to"),
        ("cart=0&preview=1", "cart must be 1 or more"),
        ("order=x&preview=1", "order must be a whole number"),
    ):
        page = lead.client.get(f"/plan?{query}")
        assert page.status_code == 422 and message in page.text, query
    assert lead.form("/plan", confirm="yes").status_code == 422
    assert lead.form("/plan", cart=["1,x"], confirm="yes").status_code == 422
    picker = floor("picker")
    assert picker.client.get("/plan").status_code == 403
    assert picker.form("/plan", cart=["1"], confirm="yes").status_code == 403
