"""Receiving on the handheld: scan the bin, then each item (a GS1 code brings its lot, expiry
and count, a case code its units), confirm the units, and they are booked in."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, request

from warehouse import inventory
from warehouse.errors import InvalidInput
from warehouse.pages.handheld import act_on_scan, page, resolve_posted
from warehouse.quantities import parse_units
from warehouse.scanning import Logged
from warehouse.web import config, current_user, db, requires, writes_late

bp = Blueprint("receive", __name__)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD)", field="expiry") from None


@bp.route("/receive", methods=["GET", "POST"])
@requires("stock.receive")
@writes_late
def receive() -> tuple[str, int]:
    """Scan the location, then each item (a GS1 code brings its lot, expiry and count), confirm."""
    if request.method == "GET":
        return page("receive.html", step="location")
    location = request.form.get("location") or None
    if request.form.get("action") == "confirm" and location:
        return _confirm_receipt(location)
    outcome = resolve_posted("receive")
    if outcome.refused is not None:
        step = "item" if location else "location"
        return page(
            "receive.html", 422, step=step, location=location, error=outcome.refused.message
        )
    scanned = outcome.answer_or_raise()
    if scanned.kind == "location":
        return page("receive.html", step="item", location=scanned.location, outcome="good")
    if location is None:
        return page(
            "receive.html", 422, step="location",
            error=f"Scan the location first ({scanned.label} is not a location).",
        )  # fmt: skip
    if scanned.kind != "product":
        return page(
            "receive.html", 422, step="item", location=location,
            error=f"{scanned.label} is not a product this warehouse knows.",
        )  # fmt: skip
    gs1 = scanned.gs1
    return page(
        "receive.html",
        step="confirm",
        location=location,
        item=scanned,
        qty=scanned.units_scanned,
        lot=(gs1.lot if gs1 else None) or "",
        expiry=gs1.expiry.isoformat() if gs1 and gs1.expiry else "",
        outcome="good",
    )


def _confirm_receipt(location: str) -> tuple[str, int]:
    form = request.form
    sku = form.get("sku", "")

    def book() -> Logged:
        qty = parse_units(form.get("qty"), "qty", most=config().receiving.max_units)
        lot, expiry = form.get("lot", "").strip(), _day(form.get("expiry"))
        inventory.receive(
            db(), current_user(), sku, location, qty, lot=lot, expiry=expiry,
            most=config().receiving.max_units,
        )  # fmt: skip
        return {"kind": "receipt", "sku": sku, "qty": qty, "location": location, "lot": lot}

    outcome = act_on_scan("receive", form.get("code", sku), book)
    if outcome.refused is not None:
        item = {"sku": sku, "name": form.get("name", ""), "code": form.get("code", "")}
        return page(
            "receive.html", 422, step="confirm", location=location, item=item,
            qty=form.get("qty", ""), lot=form.get("lot", ""), expiry=form.get("expiry", ""),
            error=outcome.refused.message,
        )  # fmt: skip
    done = outcome.answer_or_raise()
    lot = f" (lot {done['lot']})" if done.get("lot") else ""
    return page(
        "receive.html",
        step="item",
        location=location,
        notice=f"Received {done['qty']} of {done['sku']}{lot} at {done['location']}.",
        outcome="good",
    )
