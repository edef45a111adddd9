"""The scan-driven floor pages of the handheld: receive, count and look up.

Each scan is one form post carrying a scan id (static/scan.js makes it; the page also renders
one, so a resubmitted form is answered from the scan log instead of being applied twice). A
page answers every scan with the next step and a good or bad sound; a refused scan changes
nothing but the scan log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Blueprint, render_template, request

from warehouse import inventory, scanning
from warehouse.errors import InvalidInput, WarehouseError
from warehouse.scanning import Answer, Outcome, ScanContext
from warehouse.web import config, current_user, db, no_store, requires, write_now, writes_late

bp = Blueprint("floor", __name__, template_folder="templates")


def scan_context(source: str) -> ScanContext:
    """Who posted the scan, through which flow, with the client's scan id."""
    return ScanContext(
        user=current_user(),
        source=source,
        scan_id=request.form.get("scan_id") or None,
        entry=request.form.get("entry") or None,
    )


def resolve_posted(source: str) -> Outcome:
    """The posted scan, resolved and logged; the log is committed whatever the outcome."""
    setup = scanning.scanner_setup(config())
    outcome = scanning.resolve_scan(
        db(), request.form.get("code", ""), setup, scan_context(source), then_write=write_now
    )
    db().commit()
    return outcome


def scanned(raw: str) -> Answer:
    """What a posted scan names (refused as the parser refuses it)."""
    return scanning.read_and_match(db(), raw, scanning.scanner_setup(config()))


def act_on_scan(source: str, raw: str, act: Any) -> Outcome:
    """Do what the posted scan does, once per scan id, logged; the log is committed."""
    outcome = scanning.record_scan(write_now(), raw, scan_context(source), act)
    db().commit()
    return outcome


def floor_page(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
    """A floor page with a fresh scan id for its next post, and the sound of its outcome."""
    values.setdefault("outcome", "bad" if values.get("error") else None)
    page = render_template(
        template,
        scan_id=secrets.token_hex(16),
        gs_standin=config().scanners.gs_standin,
        **values,
    )
    return page, status


def refusal(outcome: Outcome) -> str:
    """What to tell the person about a refused scan."""
    assert outcome.refused is not None
    return outcome.refused.message


def whole_number(text: str | None, name: str, least: int) -> int:
    """A typed number of units, at least `least`."""
    try:
        value = int(text or "")
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", field=name) from None
    if value < least:
        raise InvalidInput(f"{name} must be {least} or more", field=name)
    return value


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date (YYYY-MM-DD)", field="expiry") from None


def _what(answer: Answer) -> str:
    return str(answer.get("sku") or answer.get("location") or answer.get("code"))


# Receiving --------------------------------------------------------------------------------


@bp.route("/receive", methods=["GET", "POST"])
@requires("stock.receive")
@writes_late
def receive() -> tuple[str, int]:
    """Scan the location, then each item (a GS1 code brings its lot, expiry and count), confirm."""
    if request.method == "GET":
        return floor_page("receive.html", step="location")
    location = request.form.get("location") or None
    if request.form.get("action") == "confirm" and location:
        return _confirm_receipt(location)
    outcome = resolve_posted("receive")
    if outcome.refused is not None:
        step = "item" if location else "location"
        return floor_page("receive.html", 422, step=step, location=location, error=refusal(outcome))
    answer = outcome.answer or {}
    if answer["kind"] == "location":
        return floor_page("receive.html", step="item", location=answer["location"], outcome="good")
    if location is None:
        return floor_page(
            "receive.html", 422, step="location",
            error=f"Scan the location first ({_what(answer)} is not a location).",
        )  # fmt: skip
    if answer["kind"] != "product":
        return floor_page(
            "receive.html", 422, step="item", location=location,
            error=f"{_what(answer)} is not a product this warehouse knows.",
        )  # fmt: skip
    gs1 = answer.get("gs1", {})
    return floor_page(
        "receive.html",
        step="confirm",
        location=location,
        item=answer,
        qty=scanning.units_of(answer),
        lot=gs1.get("lot", ""),
        expiry=gs1.get("expiry", ""),
        outcome="good",
    )


def _confirm_receipt(location: str) -> tuple[str, int]:
    form = request.form
    sku = form.get("sku", "")

    def book() -> Answer:
        qty = whole_number(form.get("qty"), "qty", 1)
        lot, expiry = form.get("lot", "").strip(), _day(form.get("expiry"))
        inventory.receive(db(), current_user(), sku, location, qty, lot=lot, expiry=expiry)
        return {"kind": "receipt", "sku": sku, "qty": qty, "location": location, "lot": lot}

    outcome = act_on_scan("receive", form.get("code", sku), book)
    if outcome.refused is not None:
        item = {"sku": sku, "name": form.get("name", ""), "code": form.get("code", "")}
        return floor_page(
            "receive.html", 422, step="confirm", location=location, item=item,
            qty=form.get("qty", ""), lot=form.get("lot", ""), expiry=form.get("expiry", ""),
            error=refusal(outcome),
        )  # fmt: skip
    done = outcome.answer or {}
    lot = f" (lot {done['lot']})" if done.get("lot") else ""
    return floor_page(
        "receive.html",
        step="item",
        location=location,
        notice=f"Received {done['qty']} of {done['sku']}{lot} at {done['location']}.",
        outcome="good",
    )


# Counting ---------------------------------------------------------------------------------


@dataclass
class CountLine:
    sku: str
    lot: str
    name: str = ""
    counted: int | None = None


@dataclass
class BinCount:
    location: str
    lines: list[CountLine] = field(default_factory=list)

    def add(self, answer: Answer) -> CountLine:
        """Count a scanned product: its units go to its line (made if the bin had none)."""
        sku, lot = answer["sku"], answer.get("gs1", {}).get("lot")
        same = [line for line in self.lines if line.sku == sku and lot in (None, line.lot)]
        if len(same) > 1:
            raise InvalidInput(
                f"{sku} is here in several lots: scan the code that carries the lot, "
                "or type the counts."
            )
        if same:
            line = same[0]
        else:
            line = CountLine(sku, lot or "", answer.get("name", ""))
            self.lines.append(line)
        line.counted = (line.counted or 0) + scanning.units_of(answer)
        return line


def _posted_count(location: str) -> BinCount:
    form = request.form
    lines = [
        CountLine(sku, lot, name, whole_number(counted, f"count of {sku}", 0) if counted else None)
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
    found = inventory.look_up(db(), location)
    assert isinstance(found, inventory.LocationContents)
    lines = {(line.sku, line.lot): CountLine(line.sku, line.lot, line.name) for line in found.lines}
    return BinCount(location, list(lines.values()))


@bp.route("/count", methods=["GET", "POST"])
@requires("stock.count")
@writes_late
def count() -> tuple[str, int]:
    """Scan the location, then scan each item or type counts; the differences are booked."""
    if request.method == "GET":
        return floor_page("count.html", step="location")
    location = request.form.get("location") or None
    try:
        counting = _posted_count(location) if location else None
    except (InvalidInput, ValueError) as refused:
        message = refused.message if isinstance(refused, WarehouseError) else "The form is damaged."
        return floor_page("count.html", 422, step="location", error=message)
    if counting is not None and request.form.get("action") == "finish":
        return _finish_count(counting)
    outcome = resolve_posted("count")
    step = "counting" if counting else "location"
    if outcome.refused is not None:
        return floor_page("count.html", 422, step=step, bin=counting, error=refusal(outcome))
    answer = outcome.answer or {}
    if answer["kind"] == "location" and (counting is None or not _started(counting)):
        return floor_page(
            "count.html", step="counting", bin=_bin_to_count(answer["location"]), outcome="good"
        )
    if counting is None:
        return floor_page(
            "count.html", 422, step="location",
            error=f"Scan the location first ({_what(answer)} is not a location).",
        )  # fmt: skip
    if answer["kind"] != "product":
        return floor_page(
            "count.html", 422, step="counting", bin=counting,
            error=f"{_what(answer)} is not a product: finish this bin first.",
        )  # fmt: skip
    try:
        line = counting.add(answer)
    except InvalidInput as refused:
        return floor_page("count.html", 422, step="counting", bin=counting, error=refused.message)
    return floor_page(
        "count.html", step="counting", bin=counting, outcome="good",
        notice=f"{line.sku}: {line.counted}",
    )  # fmt: skip


def _started(counting: BinCount) -> bool:
    return any(line.counted is not None for line in counting.lines)


def _finish_count(counting: BinCount) -> tuple[str, int]:
    counted = {(line.sku, line.lot): line.counted or 0 for line in counting.lines}

    def book() -> Answer:
        moves = inventory.count_location(db(), current_user(), counting.location, counted)
        return {
            "kind": "count",
            "location": counting.location,
            "adjustments": [{"sku": m.product.sku, "lot": m.lot, "qty": m.qty} for m in moves],
        }

    outcome = act_on_scan("count", f"count {counting.location}", book)
    if outcome.refused is not None:
        return floor_page("count.html", 422, step="counting", bin=counting, error=refusal(outcome))
    done = outcome.answer or {}
    changes = (
        ", ".join(f"{a['sku']} {a['qty']:+d}" for a in done["adjustments"]) or "no differences"
    )
    return floor_page(
        "count.html", step="location", outcome="good",
        notice=f"Counted {done['location']}: {changes}.",
    )  # fmt: skip


# Lookup -----------------------------------------------------------------------------------


@bp.route("/lookup", methods=["GET", "POST"])
@requires("stock.read")
@writes_late
def lookup() -> tuple[str, int]:
    """Scan anything: what it is and, for products and bins, where the stock is."""
    if request.method == "GET":
        return floor_page("lookup.html")
    outcome = resolve_posted("lookup")
    if outcome.refused is not None:
        return floor_page("lookup.html", 422, error=refusal(outcome))
    answer = outcome.answer or {}
    kind = answer["kind"]
    if kind == "unknown":
        return floor_page(
            "lookup.html", 404, answer=answer, error=f"Nothing is known as {answer['code']}."
        )
    found = inventory.look_up(db(), answer["sku" if kind == "product" else "location"]) if kind in (
        "product", "location"
    ) else None  # fmt: skip
    return floor_page("lookup.html", answer=answer, found=found, outcome="good")


bp.after_request(no_store)
