"""Looking up on the handheld: scan anything, and see what it is and, for a product or a bin,
where the stock is."""

from __future__ import annotations

from flask import Blueprint, request

from warehouse.pages.handheld import page, resolve_posted
from warehouse.stock import look_up
from warehouse.web import db, requires, writes_late

bp = Blueprint("lookup", __name__)


@bp.route("/lookup", methods=["GET", "POST"])
@requires("stock.read")
@writes_late
def lookup() -> tuple[str, int]:
    """Scan anything: what it is and, for products and bins, where the stock is."""
    if request.method == "GET":
        return page("lookup.html")
    outcome = resolve_posted("lookup")
    if outcome.refused is not None:
        return page("lookup.html", 422, error=outcome.refused.message)
    scanned = outcome.answer_or_raise()
    gs1 = scanned.as_json().get("gs1")
    if scanned.kind == "unknown":
        return page(
            "lookup.html",
            404,
            answer=scanned,
            gs1=gs1,
            error=f"Nothing is known as {scanned.code}.",
        )
    found = look_up(db(), scanned.label) if scanned.kind in ("product", "location") else None
    return page("lookup.html", answer=scanned, gs1=gs1, found=found, outcome="good")
