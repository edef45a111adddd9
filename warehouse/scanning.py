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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scanners.read import GS1Data, Scan, ScanError, ScannerSetup, read_scan
from warehouse.config import Config
from warehouse.db import insert_or_skip
from warehouse.errors import Conflict, InvalidInput, WarehouseError
from warehouse.models import Barcode, Location, Order, Product, ScanLog, User, utcnow

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


def _product(session: Session, where: Any) -> Answer | None:
    """The product a barcode or SKU names, in one query."""
    row = session.execute(
        select(Product.sku, Product.name, Barcode.units).join(Barcode.product).where(where).limit(1)
    ).first()
    if row is None:
        return None
    answer: Answer = {"kind": "product", "sku": row.sku, "name": row.name}
    if row.units > 1:
        answer["units"] = row.units
    return answer


def _match_text(session: Session, scan: Scan) -> Answer | None:
    """An internal code: a location, a product's own code or SKU, an order, a badge, a tote."""
    text = scan.text
    if session.scalar(select(Location.id).where(Location.code == text)) is not None:
        return {"kind": "location", "location": text}
    product = _product(session, Barcode.code == text)
    if product is not None:
        return product
    sku = session.execute(select(Product.sku, Product.name).where(Product.sku == text)).first()
    if sku is not None:
        return {"kind": "product", "sku": sku.sku, "name": sku.name}
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
        found = _product(session, Barcode.code == scan.gtin)
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


def read_and_match(session: Session, raw: str, setup: ScannerSetup) -> Answer:
    """What a raw scan names; a scan the parser refuses is a ScanRefused."""
    return match_scan(session, read_or_refuse(raw, setup))


def _replay(entry: ScanLog, context: ScanContext) -> Outcome:
    owner = context.user.id if context.user else None
    if entry.user_id != owner:
        return Outcome(None, Conflict("This scan id was used by someone else.", field="scan_id"))
    if entry.accepted:
        return Outcome(entry.result)
    return Outcome(None, ScanRefused(entry.reason, entry.message))


def _storable(text: str) -> str:
    """Text every database keeps: no NUL (PostgreSQL refuses it), no lone surrogates."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def check_scan_id(scan_id: str | None) -> None:
    """A client's scan id is 8 to 64 URL-safe characters."""
    if scan_id is not None and not SCAN_ID.fullmatch(scan_id):
        raise InvalidInput("scan_id is 8 to 64 letters, digits, - or _", field="scan_id")


@dataclass(frozen=True)
class Attempt:
    """What doing a scan's work came to, and how long it took."""

    answer: Answer | None
    refused: WarehouseError | None
    ms: float

    def log_values(self) -> dict[str, Any]:
        if self.refused is not None:
            return {"accepted": False, "reason": self.refused.code,
                    "message": self.refused.message[:300], "ms": self.ms}  # fmt: skip
        assert self.answer is not None
        return {"accepted": True, "kind": self.answer.get("kind"), "result": self.answer,
                "ms": self.ms}  # fmt: skip


def attempt(act: Callable[[], Answer], session: Session | None = None) -> Attempt:
    """Run a scan's work; with a session, in a savepoint that a refusal rolls back."""
    started = perf_counter()
    try:
        if session is None:
            answer = act()
        else:
            with session.begin_nested():
                answer = act()
    except WarehouseError as refused:
        return Attempt(None, refused, _ms_since(started))
    return Attempt(answer, None, _ms_since(started))


def _ms_since(started: float) -> float:
    return round((perf_counter() - started) * 1000, 3)


def _log(session: Session, raw: str, context: ScanContext, values: dict[str, Any]) -> Outcome | int:
    """Insert the log entry; its id, or the replay when the scan id was logged before."""
    row = {
        "user_id": context.user.id if context.user else None,
        "station": context.station,
        "source": context.source,
        "entry": context.entry if context.entry in ENTRIES else None,
        "scan_id": context.scan_id,
        "raw": _storable(raw[:RAW_KEPT]),
        "raw_length": len(raw),
        "reason": "",
        "message": "",
        "at": utcnow(),
        **values,
    }
    statement = insert_or_skip(session, ScanLog, ["scan_id"]).returning(ScanLog.id)
    inserted = session.execute(statement, row).scalar()
    if inserted is not None:
        return int(inserted)
    # Logged before, by this request's earlier try: answer as then.
    seen = session.scalars(select(ScanLog).where(ScanLog.scan_id == context.scan_id)).one()
    return _replay(seen, context)


def log_scan(session: Session, raw: str, context: ScanContext, tried: Attempt) -> Outcome:
    """Log a scan whose work had no lasting effect (a lookup): one INSERT."""
    logged = _log(session, raw, context, tried.log_values())
    if isinstance(logged, Outcome):
        return logged
    return Outcome(tried.answer, tried.refused)


def record_scan(
    session: Session, raw: str, context: ScanContext, act: Callable[[], Answer]
) -> Outcome:
    """Do what a scan does, once per scan id, and log it accepted or refused.

    The log entry is claimed before acting, so of two deliveries of one scan (a retry racing
    its original) only one acts; `act` runs in a savepoint, undone when it is refused.
    """
    check_scan_id(context.scan_id)
    claimed = _log(session, raw, context, {"accepted": False, "ms": 0.0})
    if isinstance(claimed, Outcome):
        return claimed
    tried = attempt(act, session)
    session.execute(update(ScanLog).where(ScanLog.id == claimed).values(**tried.log_values()))
    return Outcome(tried.answer, tried.refused)


def resolve_scan(
    session: Session,
    raw: str,
    setup: ScannerSetup,
    context: ScanContext,
    then_write: Callable[[], Session] | None = None,
) -> Outcome:
    """Read a raw scan and say what it names; logged, refused or not.

    `then_write` ends the reading and gives the session to log with, so that on SQLite the
    write lock is held for the log entry only.
    """
    check_scan_id(context.scan_id)
    tried = attempt(lambda: read_and_match(session, raw, setup))
    return log_scan(then_write() if then_write else session, raw, context, tried)
