"""Picking on the handheld through /api/floor/pick: take a list, a tote into each cart slot,
then at each stop the bin, each item (a case code counts its units) and the order's tote,
with the traps of a real floor (an item before its bin, the wrong bin, item or tote, one unit
too many, the tote while units are still on the shelf, a barcode in a quantity, a bin short
of units, a repeated scan id)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanners.gtin import with_check_digit
from tests.api.test_packing import refused
from tests.api.test_pick_flow import start, tote
from tests.api.test_picking import layout_bin, place_order
from tests.api.test_short_picks import assert_line, sessions  # noqa: F401
from tests.conftest import (
    ApiClient,
    Floor,
    make_channel,
    make_product,
    random_gtin13,
    receive,
    said,
    stock_of,
)
from warehouse import packing
from warehouse.config import Config
from warehouse.invariants import check_invariants
from warehouse.models import ScanLog


@pytest.fixture
def picker(floor: Callable[[str], Floor]) -> Floor:
    return floor("picker")


def empty_tote(api: ApiClient) -> str:
    """A tote code on no active list and holding nothing (random codes of other tests stay in
    use for the session)."""
    active = api.get("/api/pick-lists").json["pick_lists"]
    in_use = {place["tote"] for listed in active for place in listed["orders"]}
    while True:
        code = tote()
        if code not in in_use and api.get(f"/api/locations/{code}").status_code == 404:
            return code


def product_with_case(api: ApiClient, units: int) -> dict[str, str]:
    """A product with its unit barcode and a case code of `units`."""
    unit = random_gtin13()
    case = with_check_digit("1" + unit[:12])
    sku = make_product(api, barcodes=[unit], cases=[{"code": case, "units": units}])["sku"]
    return {"sku": sku, "unit": unit, "case": case}


@pytest.fixture
def two_orders(api: ApiClient) -> dict[str, Any]:
    """Two orders on one list, a tote each: order A wants 3 of `first` (its case holds 2),
    order B 1 of `second`; each bin holds 5."""
    channel = make_channel(api)
    first, second = product_with_case(api, 2), product_with_case(api, 2)
    bins = {first["sku"]: layout_bin(api, 1, 3), second["sku"]: layout_bin(api, 5, 6)}
    for sku, code in bins.items():
        receive(api, sku, code, 5)
    a = place_order(api, channel, {first["sku"]: 3})["id"]
    b = place_order(api, channel, {second["sku"]: 1})["id"]
    made = api.post("/api/pick-lists", {"orders": [a, b]})
    assert made.status_code == 201, made.json
    slots = {place["order"]: place["slot"] for place in made.json["orders"]}
    return {
        "list": made.json["id"], "picks": sorted(made.json["picks"], key=lambda p: p["seq"]),
        "orders": {"A": a, "B": b}, "slots": slots, "first": first, "second": second,
        "bins": bins,
    }  # fmt: skip


def good(answer: Any) -> dict[str, Any]:
    """The body of an answer that went through, shown green."""
    assert answer.status_code == 200 and answer.json["outcome"] == "good", answer.text
    return answer.json  # type: ignore[no-any-return]


def take_with_totes(picker: Floor, api: ApiClient, two_orders: dict[str, Any]) -> dict[int, str]:
    """Take the list and scan a new tote into each cart slot; the tote of each order."""
    good(picker.act("pick", "take", list=str(two_orders["list"])))
    totes = {}
    for order, _slot in sorted(two_orders["slots"].items(), key=lambda each: each[1]):
        totes[order] = empty_tote(api)
        good(picker.scan("pick", totes[order]))
    return totes


def pick_stop(picker: Floor, pick: dict[str, Any], code: str, tote_code: str) -> dict[str, Any]:
    """One stop picked by scans: the bin, the unit code once per unit, the tote."""
    good(picker.scan("pick", pick["location"]))
    for _ in range(pick["qty"]):
        good(picker.scan("pick", code))
    return good(picker.scan("pick", tote_code))


def walk_to(picker: Floor, two_orders: dict[str, Any], totes: dict[int, str], sku: str) -> None:
    """Pick the stops before the first stop of this SKU."""
    units = {two_orders["first"]["sku"]: two_orders["first"]["unit"],
             two_orders["second"]["sku"]: two_orders["second"]["unit"]}  # fmt: skip
    for pick in two_orders["picks"]:
        if pick["sku"] == sku:
            return
        pick_stop(picker, pick, units[pick["sku"]], totes[pick["order"]])


def on_the_books(api: ApiClient, two_orders: dict[str, Any]) -> Any:
    """What a refused scan must leave as it was: the units picked, and where stock is."""
    listed = api.get(f"/api/pick-lists/{two_orders['list']}").json
    where = [stock_of(api, two_orders[each]["sku"])["locations"] for each in ("first", "second")]
    return [(p["id"], p["picked"], p["status"]) for p in listed["picks"]], where


def test_a_batch_is_picked_by_scans(
    picker: Floor, api: ApiClient, two_orders: dict[str, Any], db: Session
) -> None:
    listed = picker.view("pick")
    assert listed["state"] == {}
    assert f'data-testid="pick-list-{two_orders["list"]}"' in listed["panel"]
    before_taking = picker.scan("pick", empty_tote(api))
    assert before_taking.status_code == 409 and "Take a pick list first" in said(before_taking)

    taken = good(picker.act("pick", "take", list=str(two_orders["list"])))
    assert f"List {two_orders['list']} is yours" in taken["message"]
    assert taken["state"] == {"list": two_orders["list"], "step": "location", "counted": 0}
    assert api.get(f"/api/pick-lists/{two_orders['list']}").json["status"] == "picking"
    # The cart first: an empty tote in each slot; anything else is refused, named.
    assert "Cart slot 1" in taken["panel"]
    not_a_tote = picker.scan("pick", two_orders["bins"][two_orders["first"]["sku"]])
    assert not_a_tote.status_code == 422, not_a_tote.text
    assert not_a_tote.json["error"]["code"] == "not_a_tote"
    assert "is not a tote: put an empty tote in cart slot 1" in said(not_a_tote)
    totes = {}
    for order, slot in sorted(two_orders["slots"].items(), key=lambda each: each[1]):
        if totes:
            # One tote is one order's: the tote of slot 1 is no tote for slot 2.
            twice = picker.scan("pick", next(iter(totes.values())))
            assert twice.status_code == 422 and twice.json["error"]["code"] == "tote_in_use"
        totes[order] = empty_tote(api)
        placed = good(picker.scan("pick", totes[order]))
        assert f"Tote {totes[order]} is in slot {slot}." in placed["message"]
    assert "Next: the first stop." in placed["message"]
    slots = api.get(f"/api/pick-lists/{two_orders['list']}").json["orders"]
    assert {place["order"]: place["tote"] for place in slots} == totes

    units = {
        two_orders["first"]["sku"]: two_orders["first"],
        two_orders["second"]["sku"]: two_orders["second"],
    }
    for pick in two_orders["picks"]:
        order, item = pick["order"], units[pick["sku"]]
        # Each stop shows its bin, its tote and the cart slot that tote is in.
        panel = picker.view("pick")["panel"]
        assert f'data-testid="stop">{pick["location"]}<' in panel
        assert f'data-testid="tote">{totes[order]}<' in panel
        assert f'data-testid="cart-slot">{two_orders["slots"][order]}<' in panel
        at_bin = good(picker.scan("pick", pick["location"]))
        assert f"Take {pick['qty']} of {pick['sku']}" in at_bin["message"]
        if pick["qty"] == 3:
            # A case code counts its units; the unit code one each.
            assert good(picker.scan("pick", item["case"]))["state"]["counted"] == 2
        in_hand = good(picker.scan("pick", item["unit"]))
        assert f"all {pick['qty']} in hand. Scan tote {totes[order]}" in in_hand["message"]
        assert f'data-testid="cart-slot">{two_orders["slots"][order]}<' in in_hand["panel"]
        done = good(picker.scan("pick", totes[order]))
        assert f"Picked {pick['qty']} into {totes[order]}." in done["message"]
    assert f"List {two_orders['list']} is done: take the cart to packing." in done["message"]
    # The list stays on the screen, done, until the picker asks for the next one.
    assert done["state"] == {"list": two_orders["list"], "step": "done"}
    assert "<h1>List done</h1>" in done["panel"]
    assert api.get(f"/api/pick-lists/{two_orders['list']}").json["status"] == "done"
    assert "is done: take the cart" in said(picker.scan("pick", totes[order]))
    assert good(picker.act("pick", "leave"))["state"] == {}
    first, second = two_orders["first"]["sku"], two_orders["second"]["sku"]
    held = {each["location"]: each["on_hand"] for each in stock_of(api, first)["locations"]}
    assert held[two_orders["bins"][first]] == 2 and held[totes[two_orders["orders"]["A"]]] == 3
    held = {each["location"]: each["on_hand"] for each in stock_of(api, second)["locations"]}
    assert held[two_orders["bins"][second]] == 4 and held[totes[two_orders["orders"]["B"]]] == 1
    db.rollback()
    assert check_invariants(db) == []


@pytest.mark.parametrize(
    ("events", "status", "code", "message"),
    [
        ([("scan", "{unit}")], 422, "bin_first",
         "Scan the bin {bin} first: that was an item ({sku})."),
        ([("scan", "{other_bin}")], 422, "wrong_location",
         "Wrong bin: this stop is {bin}, not {other_bin}."),
        ([("scan", "{bin}"), ("scan", "{other_unit}")], 422, "wrong_item",
         "Wrong item: take {sku}, not {other_sku}."),
        ([("scan", "{bin}"), ("scan", "{stranger}")], 422, "wrong_item",
         "Wrong item: take {sku}, not {stranger_sku}."),
        ([("scan", "{bin}"), ("scan", "{unit}"), ("scan", "{stranger}")], 422, "wrong_item",
         "Wrong item: take {sku}, not {stranger_sku}."),
        ([("scan", "{bin}"), ("scan", "{case}"), ("scan", "{unit}"), ("scan", "{unit}")], 422,
         "too_many", "One too many: 3 of {sku} are wanted here and 3 are in hand. "
         "Put the extra back, then scan tote {tote} (slot {slot})."),
        ([("scan", "{bin}"), ("scan", "{unit}"), ("scan", "{unit}"), ("scan", "{case}")], 422,
         "too_many", "Too many: 3 of {sku} are wanted here, 2 are in hand, and that scan "
         "counts 2. Take the 1 still wanted one at a time and scan each."),
        ([("scan", "{bin}"), ("scan", "{unit}"), ("scan", "{tote}")], 422, "not_all_in_hand",
         "1 of 3 {sku} are in hand: scan the rest, or say Not enough here."),
        ([("scan", "{bin}"), ("scan", "{case}"), ("scan", "{unit}"), ("scan", "{other_tote}")],
         422, "wrong_tote", "Wrong tote: this goes in {tote}, not {other_tote}."),
        ([("act", "qty", {"counted": "3"})], 409, "item_first", "Scan one {sku} first"),
        ([("scan", "{bin}"), ("act", "qty", {"counted": "3"})], 409, "item_first",
         "Scan one {sku} first"),
        ([("scan", "{bin}"), ("scan", "{unit}"), ("act", "qty", {"counted": "4"})], 422,
         "too_many", "Units in hand is 3 at most here, not 4."),
        ([("scan", "{bin}"), ("scan", "{unit}"), ("act", "qty", {"counted": "0"})], 422,
         "invalid_input", "Units in hand must be 1 or more."),
        ([("scan", "{bin}"), ("scan", "{unit}"), ("act", "qty", {"counted": "6141410000981"})],
         422, "barcode_as_quantity", "looks like a scanned barcode"),
        ([("act", "short", {"found": "3"})], 422, "too_many", "Units found is 2 at most here"),
        ([("act", "short", {"found": "4006381333931"})], 422, "barcode_as_quantity",
         "looks like a scanned barcode"),
        ([("act", "short", {"found": "x"})], 422, "invalid_input",
         "Units found must be a whole number."),
        ([("act", "explode", {})], 422, "unknown_action", "Pick has no button 'explode'."),
    ],
)  # fmt: skip
def test_a_wrong_scan_at_a_stop_is_refused_named_and_books_nothing(
    picker: Floor,
    api: ApiClient,
    two_orders: dict[str, Any],
    events: list[Any],
    status: int,
    code: str,
    message: str,
) -> None:
    totes = take_with_totes(picker, api, two_orders)
    first, second = two_orders["first"], two_orders["second"]
    walk_to(picker, two_orders, totes, first["sku"])
    stranger = make_product(api)
    a, b = two_orders["orders"]["A"], two_orders["orders"]["B"]
    names = {
        "unit": first["unit"], "case": first["case"], "sku": first["sku"],
        "bin": two_orders["bins"][first["sku"]], "tote": totes[a], "slot": two_orders["slots"][a],
        "other_unit": second["unit"], "other_sku": second["sku"],
        "other_bin": two_orders["bins"][second["sku"]], "other_tote": totes[b],
        "stranger": stranger["barcodes"][0], "stranger_sku": stranger["sku"],
    }  # fmt: skip
    answer, state, books = None, None, None
    for kind, value, *rest in events:
        state, books = picker.view("pick")["state"], on_the_books(api, two_orders)
        filled = value.format(**names)
        answer = (
            picker.scan("pick", filled) if kind == "scan" else picker.act("pick", filled, **rest[0])
        )
    assert answer is not None and answer.status_code == status, answer.text
    assert answer.json["error"]["code"] == code
    assert message.format(**names) in said(answer)
    # Refused: the flow stays where it was, and nothing moved.
    assert picker.view("pick")["state"] == state
    assert on_the_books(api, two_orders) == books


def test_many_units_taken_at_once_are_typed_after_one_scan(
    picker: Floor, api: ApiClient, two_orders: dict[str, Any]
) -> None:
    totes = take_with_totes(picker, api, two_orders)
    first = two_orders["first"]
    walk_to(picker, two_orders, totes, first["sku"])
    at_bin = good(picker.scan("pick", two_orders["bins"][first["sku"]]))
    # The keypad is offered only once one item of the stop has been scanned.
    assert 'data-field="counted"' not in at_bin["panel"]
    one = good(picker.scan("pick", first["unit"]))
    assert 'data-field="counted"' in one["panel"]
    typed = good(picker.act("pick", "qty", counted="3"))
    assert typed["state"]["counted"] == 3 and typed["state"]["step"] == "tote"
    assert f"all 3 in hand. Scan tote {totes[two_orders['orders']['A']]}" in typed["message"]
    # Typed down again, the tote waits for the rest.
    fewer = good(picker.act("pick", "qty", counted="2"))
    assert fewer["state"] == {"list": two_orders["list"], "step": "item", "counted": 2}
    assert picker.scan("pick", totes[two_orders["orders"]["A"]]).status_code == 422
    good(picker.scan("pick", first["unit"]))
    good(picker.scan("pick", totes[two_orders["orders"]["A"]]))
    held = {e["location"]: e["on_hand"] for e in stock_of(api, first["sku"])["locations"]}
    assert held[totes[two_orders["orders"]["A"]]] == 3


def test_a_list_held_by_another_or_unknown_is_not_taken(
    picker: Floor, api: ApiClient, two_orders: dict[str, Any]
) -> None:
    assert start(api, two_orders["list"]).status_code == 200  # the API's picker, another person
    held = picker.act("pick", "take", list=str(two_orders["list"]))
    assert held.status_code == 409 and held.json["error"]["code"] == "not_yours"
    assert picker.view("pick")["state"] == {}
    for number, status, message in (
        ("x", 422, "The list number must be a whole number."),
        ("2147483646", 404, "No pick list has id 2147483646."),
        # An id of 8 digits or more is a list number, not a barcode typed as a quantity.
        ("40063813", 404, "No pick list has id 40063813."),
    ):
        refused_take = picker.act("pick", "take", list=number)
        assert refused_take.status_code == status and message in said(refused_take), number


def one_order_short(api: ApiClient, held_elsewhere: int) -> dict[str, Any]:
    """An order of 3 units; its bin holds 3 on the books (1 in truth), and `held_elsewhere`
    more are in another bin."""
    item = product_with_case(api, 2)
    first = layout_bin(api, 2, 3)
    receive(api, item["sku"], first, 3)
    order = place_order(api, make_channel(api), {item["sku"]: 3})["id"]
    made = api.post("/api/pick-lists", {"orders": [order]})
    assert made.status_code == 201, made.json
    (pick,) = made.json["picks"]
    assert pick["location"] == first
    if held_elsewhere:
        receive(api, item["sku"], layout_bin(api, 4, 5), held_elsewhere)
    return {**item, "list": made.json["id"], "order": order, "bin": first}


def test_a_short_pick_with_no_other_bin_warns_and_backorders_the_rest(
    picker: Floor,
    api: ApiClient,
    db: Session,
    sessions: sessionmaker[Session],  # noqa: F811
    config: Config,
) -> None:
    short = one_order_short(api, held_elsewhere=0)
    good(picker.act("pick", "take", list=str(short["list"])))
    bag = empty_tote(api)
    good(picker.scan("pick", bag))
    good(picker.scan("pick", short["bin"]))
    good(picker.scan("pick", short["unit"]))
    shorted = picker.act("pick", "short", found="1")
    assert shorted.status_code == 200, shorted.text
    # Units went missing: never green.
    assert shorted.json["outcome"] == "warn"
    assert (
        f"Short pick noted at {short['bin']}; no other bin has the rest. "
        f"List {short['list']} is done" in said(shorted)
    )
    assert shorted.json["state"] == {"list": short["list"], "step": "done"}
    # The one found is in the tote; the 2 not found are backordered, and the order waits.
    order = api.get(f"/api/orders/{short['order']}").json
    assert order["status"] == "partial"
    assert_line(api, short["order"], qty=3, reserved=1, backordered=2, shipped=0)
    assert refused(
        sessions, lambda s: packing.open_carton(s, short["order"], "small", config.boxes)
    ) == "not_picked"  # fmt: skip
    held = {e["location"]: e["on_hand"] for e in stock_of(api, short["sku"])["locations"]}
    assert held.get(short["bin"], 0) == 0 and held[bag] == 1
    db.rollback()
    assert check_invariants(db) == []


def test_a_short_pick_with_another_bin_sends_the_picker_there(
    picker: Floor, api: ApiClient, db: Session
) -> None:
    short = one_order_short(api, held_elsewhere=4)
    good(picker.act("pick", "take", list=str(short["list"])))
    bag = empty_tote(api)
    good(picker.scan("pick", bag))
    good(picker.scan("pick", short["bin"]))
    shorted = picker.act("pick", "short", found="0")
    assert shorted.status_code == 200 and shorted.json["outcome"] == "warn", shorted.text
    assert "the rest is picked from another bin" in said(shorted)
    (other,) = [
        p for p in api.get(f"/api/pick-lists/{short['list']}").json["picks"]
        if p["status"] == "open"
    ]  # fmt: skip
    assert other["qty"] == 3 and f"Next: {other['location']}." in said(shorted)
    assert f'data-testid="stop">{other["location"]}<' in shorted.json["panel"]
    good(picker.scan("pick", other["location"]))
    good(picker.scan("pick", short["case"]))
    good(picker.scan("pick", short["unit"]))
    good(picker.scan("pick", bag))
    assert api.get(f"/api/orders/{short['order']}").json["status"] == "picking"
    assert_line(api, short["order"], qty=3, reserved=3, backordered=0)
    db.rollback()
    assert check_invariants(db) == []


def test_a_repeated_scan_id_is_applied_once(
    picker: Floor, api: ApiClient, two_orders: dict[str, Any], db: Session
) -> None:
    totes = take_with_totes(picker, api, two_orders)
    second = two_orders["second"]
    walk_to(picker, two_orders, totes, second["sku"])
    b = two_orders["orders"]["B"]
    good(picker.scan("pick", two_orders["bins"][second["sku"]]))
    # Order B wants 1: the same scan sent twice (a retry) is one unit, not one too many.
    unit_id = secrets.token_hex(16)
    first_try = good(picker.scan("pick", second["unit"], scan_id=unit_id))
    again = good(picker.scan("pick", second["unit"], scan_id=unit_id))
    assert first_try["message"] == again["message"]
    assert again["state"]["counted"] == 1 and again["state"]["step"] == "tote"
    tote_id = secrets.token_hex(16)
    good(picker.scan("pick", totes[b], scan_id=tote_id))
    good(picker.scan("pick", totes[b], scan_id=tote_id))
    held = {e["location"]: e["on_hand"] for e in stock_of(api, second["sku"])["locations"]}
    assert held[totes[b]] == 1 and held[two_orders["bins"][second["sku"]]] == 4
    db.rollback()
    for scan_id in (unit_id, tote_id):
        assert len(list(db.scalars(select(ScanLog).where(ScanLog.scan_id == scan_id)))) == 1
