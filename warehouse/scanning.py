"""Scans made through the service: read by `scanners.read`, matched to what they name, logged.

Every scan is logged, refused ones too: the caller commits the log entry even when it then
answers with the refusal. A scan may carry a client-made scan id; a scan id seen before is
answered from the log, so a retried request is applied once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scanners.read import GS1Data, Scan, ScanError, ScannerSetup, read_scan
from warehouse.config import Config
from warehouse.errors import Conflict, InvalidInput, WarehouseError
from warehouse.models import Barcode, Location, Order, Product, ScanLog, User

RAW_KEPT = 512
SCAN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

ENTRIES = ("scanner", "keyboard", "camera")

Answer = dict[str, Any]


class ScanRefused(InvalidInput):
    """A scan that cannot be read: the reason of `scanners.read` as a 422."""

    def __init__(self, code: str, message: str):
        super().__init__(message, field="code", code=code)


@dataclass(frozen=True)
class ScanContext:
    """Who scanned, where, through what, and the client's id for the scan."""

    user: User | None
    source: str
    station: str | None = None
    scan_id: str | None = None
    entry: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a scan came to: an answer, or the refusal to raise once the log is committed."""

    answer: Answer | None
    refused: WarehouseError | None = None
    replayed: bool = False

    def answer_or_raise(self) -> Answer:
        """The answer; raises the refusal."""
        if self.refused is not None:
            raise self.refused
        assert self.answer is not None
        return self.answer


def scanner_setup(config: Config) -> ScannerSetup:
    """The parser's setup from config.toml: framing, GS stand-in and internal code patterns."""
    scanners = config.scanners
    return ScannerSetup(
        prefix=scanners.prefix,
        suffix=scanners.suffix,
        gs_standin=scanners.gs_standin,
        patterns={
            "user": scanners.badge_pattern,
            "tote": scanners.tote_pattern,
            "carton": scanners.carton_pattern,
            "order": scanners.order_pattern,
            "location": config.warehouse.location_pattern,
        },
    )


def _gs1_answer(data: GS1Data) -> dict[str, Any]:
    values = {
        "gtin": data.gtin,
        "sscc": data.sscc,
        "lot": data.lot,
        "expiry": data.expiry.isoformat() if data.expiry else None,
        "serial": data.serial,
        "count": data.count,
    }
    return {key: value for key, value in values.items() if value is not None}


def _product_answer(product: Product, units: int) -> Answer:
    answer: Answer = {"kind": "product", "sku": product.sku, "name": product.name}
    if units > 1:
        answer["units"] = units
    return answer


def _match_text(session: Session, scan: Scan) -> Answer | None:
    """An internal code: a location, a product's own code or SKU, an order, a badge, a tote."""
    text = scan.text
    location = session.scalar(select(Location).where(Location.code == text))
    if location is not None:
        return {"kind": "location", "location": location.code}
    barcode = session.scalar(select(Barcode).where(Barcode.code == text))
    if barcode is not None:
        return _product_answer(barcode.product, barcode.units)
    product = session.scalar(select(Product).where(Product.sku == text))
    if product is not None:
        return _product_answer(product, 1)
    if scan.kind == "order":
        digits = re.sub(r"\D", "", text)
        order = session.get(Order, int(digits)) if digits and len(digits) < 19 else None
        if order is not None:
            return {"kind": "order", "order": {"id": order.id, "status": order.status}}
    elif scan.kind == "user":
        user = session.scalar(select(User).where(User.badge == text, User.active))
        if user is not None:
            return {"kind": "user", "user": {"name": user.name, "role": user.role}}
    elif scan.kind in ("tote", "carton"):
        return {"kind": scan.kind, scan.kind: text}
    return None


def match_scan(session: Session, scan: Scan) -> Answer:
    """What a read scan names in this warehouse; kind "unknown" when nothing."""
    found: Answer | None = None
    if scan.gtin is not None:
        barcode = session.scalar(select(Barcode).where(Barcode.code == scan.gtin))
        if barcode is not None:
            found = _product_answer(barcode.product, barcode.units)
    elif scan.kind not in ("sscc", "gs1"):
        found = _match_text(session, scan)
    answer: Answer = {"kind": "unknown", **(found or {}), "code": scan.text}
    if scan.symbology:
        answer["symbology"] = scan.symbology
    if scan.gs1 is not None:
        answer["gs1"] = _gs1_answer(scan.gs1)
    return answer


def units_of(answer: Answer) -> int:
    """Units a product scan stands for: a case code's units, times a GS1 count where one is."""
    return int(answer.get("units", 1)) * int(answer.get("gs1", {}).get("count", 1))


def read_or_refuse(raw: str, setup: ScannerSetup) -> Scan:
    """read_scan, its refusal as a ScanRefused."""
    try:
        return read_scan(raw, setup)
    except ScanError as error:
        raise ScanRefused(error.code, error.message) from None


def _replay(entry: ScanLog, context: ScanContext) -> Outcome:
    owner = context.user.id if context.user else None
    if entry.user_id != owner:
        return Outcome(None, Conflict("This scan id was used by someone else.", field="scan_id"))
    if entry.accepted:
        return Outcome(entry.result, replayed=True)
    return Outcome(None, ScanRefused(entry.reason, entry.message), replayed=True)


def _storable(text: str) -> str:
    """Text every database keeps: no NUL (PostgreSQL refuses it), no lone surrogates."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _check_scan_id(scan_id: str | None) -> None:
    if scan_id is not None and not SCAN_ID.fullmatch(scan_id):
        raise InvalidInput("scan_id is 8 to 64 letters, digits, - or _", field="scan_id")


def record_scan(
    session: Session, raw: str, context: ScanContext, act: Callable[[], Answer]
) -> Outcome:
    """Do what a scan does, once per scan id, and log it accepted or refused.

    `act` runs in a savepoint: when it raises a WarehouseError its changes are undone and the
    refusal is logged. With a scan id, the log entry is claimed before acting, so of two
    deliveries of one scan (a retry racing its original) only one acts.
    """
    _check_scan_id(context.scan_id)
    if context.scan_id is not None:
        seen = session.scalar(select(ScanLog).where(ScanLog.scan_id == context.scan_id))
        if seen is not None:
            return _replay(seen, context)
    started = perf_counter()
    entry = ScanLog(
        user_id=context.user.id if context.user else None,
        station=context.station,
        source=context.source,
        entry=context.entry if context.entry in ENTRIES else None,
        scan_id=context.scan_id,
        raw=_storable(raw[:RAW_KEPT]),
        raw_length=len(raw),
        accepted=False,
        ms=0.0,
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        seen = session.scalars(select(ScanLog).where(ScanLog.scan_id == context.scan_id)).one()
        return _replay(seen, context)
    outcome: Outcome
    try:
        with session.begin_nested():
            answer = act()
    except WarehouseError as refused:
        entry.reason, entry.message = refused.code, refused.message[:300]
        outcome = Outcome(None, refused)
    else:
        entry.accepted, entry.kind, entry.result = True, answer.get("kind"), answer
        outcome = Outcome(answer)
    entry.ms = round((perf_counter() - started) * 1000, 3)
    session.flush()
    return outcome


def resolve_scan(session: Session, raw: str, setup: ScannerSetup, context: ScanContext) -> Outcome:
    """Read a raw scan and say what it names; logged, refused or not."""
    return record_scan(
        session, raw, context, lambda: match_scan(session, read_or_refuse(raw, setup))
    )
