"""The returns page of the handheld: scan the order (its barcode, or type its number), then
each returned item (a case code counts its units), then the bin it goes back to, or send it
to quarantine. Every scan is logged; a refused one changes nothing and plays the bad sound.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, request

from warehouse import returns, scanning
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.floor import act_on_scan, floor_page, refusal, scanned, whole_number
from warehouse.scanning import Answer
from warehouse.web import config, current_user, db, no_store, requires, writes_late

bp = Blueprint("return", __name__, template_folder="templates")

# An order number typed by hand (ids are 32-bit; longer digit strings are product barcodes).
TYPED_ORDER = re.compile(r"[0-9]{1,10}")


def _order_named(raw: str) -> int:
    """The order id of a scanned order barcode or a typed order number."""
    text = raw.strip()
    if TYPED_ORDER.fullmatch(text):
        return int(text)
    answer = scanned(raw)
    if answer["kind"] != "order":
        raise InvalidInput(
            f"{answer['code']} is not an order: scan the order's barcode or type its number.",
            field="code",
            code="not_an_order",
        )
    return int(answer["order"]["id"])


def _page(status: int = 200, **values: Any) -> tuple[str, int]:
    return floor_page("returns.html", status, quarantine=config().returns.quarantine, **values)


def _order_page(order_id: int, status: int = 200, **values: Any) -> tuple[str, int]:
    """The order's lines, shipped and returned, and the next scan: an item, or its bin."""
    try:
        order = returns.shipped_order(db(), order_id)
    except WarehouseError as refused:
        return _page(refused.status, step="order", error=refused.message)
    values.setdefault("step", "item")
    return _page(status, order=order, lines=returns.return_lines(db(), order), **values)


@bp.route("/returns", methods=["GET", "POST"])
@requires("returns.receive")
@writes_late
def page() -> tuple[str, int]:
    """Scan the order, then each returned item and the bin it goes back to (or quarantine)."""
    if request.method == "GET":
        if TYPED_ORDER.fullmatch(request.args.get("order", "")):
            return _order_page(int(request.args["order"]))
        return _page(step="order")
    if not request.form.get("order"):
        return _scan_order()
    try:
        order_id = whole_number(request.form.get("order"), "order", 1)
    except InvalidInput:
        return _page(422, step="order", error="The form is damaged: scan the order again.")
    if request.form.get("sku"):
        return _put_back(order_id)
    return _scan_item(order_id)


def _scan_order() -> tuple[str, int]:
    raw = request.form.get("code", "")

    def find() -> Answer:
        order = returns.shipped_order(db(), _order_named(raw))
        return {"kind": "return", "step": "order", "order": order.id}

    outcome = act_on_scan("returns", raw, find)
    if outcome.refused is not None:
        return _page(422, step="order", error=refusal(outcome))
    return _order_page(int((outcome.answer or {})["order"]), outcome="good")


def _scan_item(order_id: int) -> tuple[str, int]:
    raw = request.form.get("code", "")

    def check() -> Answer:
        answer = scanned(raw)
        if answer["kind"] == "order":
            order = returns.shipped_order(db(), int(answer["order"]["id"]))
            return {"kind": "return", "step": "order", "order": order.id}
        if answer["kind"] == "location":
            raise InvalidInput(
                "Scan the returned item first, then its bin.", field="code", code="item_first"
            )
        if answer["kind"] != "product":
            raise returns.NotShippedItem(
                f"{answer['code']} is not an item this warehouse knows: put it aside.",
                field="sku",
            )
        units = scanning.units_of(answer)
        order = returns.shipped_order(db(), order_id)
        returns.returnable(db(), order, answer["sku"], units)
        return {"kind": "return", "step": "item", "order": order_id, "sku": answer["sku"],
                "name": answer.get("name", ""), "units": units}  # fmt: skip

    outcome = act_on_scan("returns", raw, check)
    if outcome.refused is not None:
        return _order_page(order_id, 422, error=refusal(outcome))
    answer = outcome.answer or {}
    if answer["step"] == "order":
        return _order_page(int(answer["order"]), outcome="good")
    item = {"sku": answer["sku"], "name": answer["name"]}
    return _order_page(order_id, step="place", item=item, qty=answer["units"], outcome="good")


def _put_back(order_id: int) -> tuple[str, int]:
    """Book the item at the scanned bin, or at quarantine when the button was pressed instead."""
    form = request.form
    sku, code = form.get("sku", ""), form.get("code", "").strip()
    item = {"sku": sku, "name": form.get("name", "")}
    kept = {"step": "place", "item": item, "qty": form.get("qty", ""),
            "reason": form.get("reason", "")}  # fmt: skip
    if not code and form.get("action") != "quarantine":
        return _order_page(order_id, 422, error="Scan the bin, or send the item to quarantine.",
                           **kept)  # fmt: skip

    def book() -> Answer:
        qty = whole_number(form.get("qty"), "qty", 1)
        location = None
        if code:
            answer = scanned(code)
            if answer["kind"] != "location":
                raise InvalidInput(
                    f"{answer['code']} is not a location: scan the bin, or send the item "
                    "to quarantine.",
                    field="location",
                    code="not_a_location",
                )
            location = answer["location"]
        movement = returns.return_item(
            db(), current_user(), order_id, sku, qty, location,
            config().returns.quarantine, form.get("reason", ""),
        )  # fmt: skip
        return {"kind": "return", "step": "returned", "order": order_id, "sku": sku,
                "qty": qty, "location": movement.location.code,
                "quarantine": location is None}  # fmt: skip

    outcome = act_on_scan("returns", code or f"return {sku} to quarantine", book)
    if outcome.refused is not None:
        return _order_page(order_id, 422, error=refusal(outcome), **kept)
    done = outcome.answer or {}
    where = f"quarantine ({done['location']})" if done["quarantine"] else done["location"]
    return _order_page(
        order_id, outcome="good", notice=f"Returned {done['qty']} of {done['sku']} to {where}."
    )


bp.after_request(no_store)
