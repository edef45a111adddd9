"""Counting a bin on the handheld: scan the bin, then scan each item or type the counts (the
books are not shown); finishing books the differences, and what was not found counts as 0."""

from __future__ import annotations

from flask import Blueprint, request

from warehouse import counting
from warehouse.counting import BinCount, CountLine
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.pages.handheld import act_on_scan, page, resolve_posted
from warehouse.quantities import parse_units
from warehouse.scanning import Logged
from warehouse.stock import LocationContents, look_up
from warehouse.web import config, current_user, db, requires, writes_late

bp = Blueprint("count", __name__)


def _posted_count(location: str) -> BinCount:
    form, most = request.form, config().receiving.max_units
    lines = [
        CountLine(
            sku,
            lot,
            name,
            parse_units(counted, f"count of {sku}", least=0, most=most) if counted else None,
        )
        for sku, lot, name, counted in zip(
            form.getlist("sku"),
            form.getlist("lot"),
            form.getlist("name"),
            form.getlist("counted"),
            strict=True,
        )
    ]
    return BinCount(location, lines)


def _bin_to_count(location: str) -> BinCount:
    found = look_up(db(), location)
    assert isinstance(found, LocationContents)
    return BinCount.of(found)


@bp.route("/count", methods=["GET", "POST"])
@requires("stock.count")
@writes_late
def count() -> tuple[str, int]:
    """Scan the location, then scan each item or type counts; the differences are booked."""
    if request.method == "GET":
        return page("count.html", step="location")
    location = request.form.get("location") or None
    try:
        counting_now = _posted_count(location) if location else None
    except (InvalidInput, ValueError) as refused:
        message = refused.message if isinstance(refused, WarehouseError) else "The form is damaged."
        return page("count.html", 422, step="location", error=message)
    if counting_now is not None and request.form.get("action") == "finish":
        return _finish_count(counting_now)
    outcome = resolve_posted("count")
    step = "counting" if counting_now else "location"
    if outcome.refused is not None:
        return page("count.html", 422, step=step, bin=counting_now, error=outcome.refused.message)
    scanned = outcome.answer_or_raise()
    if scanned.kind == "location" and (counting_now is None or not counting_now.started):
        return page("count.html", step="counting", bin=_bin_to_count(scanned.label), outcome="good")
    if counting_now is None:
        return page(
            "count.html", 422, step="location",
            error=f"Scan the location first ({scanned.label} is not a location).",
        )  # fmt: skip
    if scanned.kind != "product":
        return page(
            "count.html", 422, step="counting", bin=counting_now,
            error=f"{scanned.label} is not a product: finish this bin first.",
        )  # fmt: skip
    try:
        line = counting_now.add(scanned)
    except InvalidInput as refused:
        return page("count.html", 422, step="counting", bin=counting_now, error=refused.message)
    return page(
        "count.html", step="counting", bin=counting_now, outcome="good",
        notice=f"{line.sku}: {line.counted}",
    )  # fmt: skip


def _finish_count(bin_count: BinCount) -> tuple[str, int]:
    # Only what was counted: an item left blank is refused, never taken for none.
    counted = {
        (line.sku, line.lot): line.counted for line in bin_count.lines if line.counted is not None
    }

    def book() -> Logged:
        results = counting.count_location(
            db(), current_user(), bin_count.location, counted, config().counting,
            most=config().receiving.max_units,
        )  # fmt: skip
        return {
            "kind": "count",
            "location": bin_count.location,
            "adjustments": [
                {"sku": r.sku, "lot": r.lot, "qty": r.difference}
                for r in results
                if r.movement is not None and r.difference
            ],
            "waiting": [
                {"sku": r.sku, "lot": r.lot, "qty": r.difference} for r in results if r.waiting
            ],
        }

    outcome = act_on_scan("count", f"count {bin_count.location}", book)
    if outcome.refused is not None:
        return page(
            "count.html", 422, step="counting", bin=bin_count, error=outcome.refused.message
        )
    done = outcome.answer_or_raise()
    changes = (
        ", ".join(f"{a['sku']} {a['qty']:+d}" for a in done["adjustments"]) or "no differences"
    )
    waiting = done.get("waiting") or []
    if waiting:
        held = ", ".join(f"{w['sku']} {w['qty']:+d}" for w in waiting)
        return page(
            "count.html", step="location", outcome="bad",
            error=f"Counted {done['location']}: {changes} booked. Too large to book on one "
            f"count: {held}. Count the bin again, or ask a supervisor to approve.",
        )  # fmt: skip
    return page(
        "count.html", step="location", outcome="good",
        notice=f"Counted {done['location']}: {changes}.",
    )  # fmt: skip
