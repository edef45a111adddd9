"""Scans made through the service: read by `scanners.read`, matched to what they name, logged.

Every scan is logged, refused ones too: the caller commits the log entry even when it then
answers with the refusal. A scan may carry a client-made scan id; a scan id seen before is
answered from the log, so a retried request is applied once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from time import perf_counter
from typing import Any, Generic, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scanners.numbered import numbered_code
from scanners.read import GS1Data, Scan, ScanError, ScannerSetup, read_scan
from warehouse.config import Config
from warehouse.db import insert_or_skip
from warehouse.errors import Conflict, InvalidInput, WarehouseError
from warehouse.models import Barcode, Location, Product, ScanLog, User, utcnow
from warehouse.orders import find_order

RAW_KEPT = 512
SCAN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

ENTRIES = ("scanner", "keyboard", "camera")
KINDS = ("product", "location", "order", "tote", "carton", "user", "unknown")

# What a flow did with a scan, as logged (JSON) and answered again to a replay of it.
Logged = dict[str, Any]
T = TypeVar("T")


class ScanRefused(InvalidInput):
    """A scan that cannot be read: the reason of `scanners.read` as a 422."""

    def __init__(self, code: str, message: str):
        super().__init__(message, field="code", code=code)


@dataclass(frozen=True)
class OrderRef:
    id: int
    status: str


@dataclass(frozen=True)
class UserRef:
    name: str
    role: str


@dataclass(frozen=True)
class Resolved:
    """What a scan names in this warehouse. `kind` is one of KINDS; the field of that kind
    says which one (`sku` and `name` for a product, `location`, `order`, ...)."""

    kind: str
    # The scan without its framing and AIM identifier.
    code: str
    symbology: str | None = None
    sku: str | None = None
    name: str | None = None
    # Units a case code counts (None for a unit's own code).
    units: int | None = None
    location: str | None = None
    order: OrderRef | None = None
    user: UserRef | None = None
    tote: str | None = None
    carton: str | None = None
    gs1: GS1Data | None = None

    @property
    def units_scanned(self) -> int:
        """Units a product scan stands for: a case code's units, times a GS1 count."""
        return (self.units or 1) * ((self.gs1.count if self.gs1 else None) or 1)

    @property
    def label(self) -> str:
        """How to name what was scanned to a person."""
        return self.sku or self.location or self.code

    def as_json(self) -> Logged:
        """The scan log's form (and the API's): fields that say nothing are left out."""
        values: Logged = {"kind": self.kind, "code": self.code}
        for name in ("symbology", "sku", "name", "units", "location", "tote", "carton"):
            if getattr(self, name) is not None:
                values[name] = getattr(self, name)
        if self.order is not None:
            values["order"] = {"id": self.order.id, "status": self.order.status}
        if self.user is not None:
            values["user"] = {"name": self.user.name, "role": self.user.role}
        if self.gs1 is not None:
            values["gs1"] = _gs1_json(self.gs1)
        return values

    @classmethod
    def from_json(cls, values: Logged) -> Resolved:
        """A resolution as the scan log keeps it (as_json's form)."""
        plain = {key: values[key] for key in ("kind", "code", "symbology", "sku", "name",
                                              "units", "location", "tote", "carton") if key in values}  # fmt: skip
        gs1 = values.get("gs1")
        return cls(
            **plain,
            order=OrderRef(**values["order"]) if "order" in values else None,
            user=UserRef(**values["user"]) if "user" in values else None,
            gs1=None if gs1 is None else GS1Data(
                **{**gs1, "expiry": date.fromisoformat(gs1["expiry"]) if "expiry" in gs1 else None}
            ),
        )  # fmt: skip


def _gs1_json(data: GS1Data) -> Logged:
    values = {
        "gtin": data.gtin,
        "sscc": data.sscc,
        "lot": data.lot,
        "expiry": data.expiry.isoformat() if data.expiry else None,
        "serial": data.serial,
        "count": data.count,
    }
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class ScanContext:
    """Who scanned, where, through what, and the client's id for the scan."""

    user: User | None
    source: str
    station: str | None = None
    scan_id: str | None = None
    entry: str | None = None


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a scan came to: an answer, or the refusal to raise once the log is committed."""

    answer: T | None
    refused: WarehouseError | None = None

    def answer_or_raise(self) -> T:
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


def order_code(config: Config, order_id: int) -> str:
    """An order's own barcode text (on its packing slip), in the shape of the order pattern
    that scans are read by, so that a scan of it finds the order again."""
    return numbered_code(config.scanners.order_pattern).write(order_id)


def _product(session: Session, scan: Scan, where: Any) -> Resolved | None:
    """The product a barcode or SKU names, in one query."""
    row = session.execute(
        select(Product.sku, Product.name, Barcode.units).join(Barcode.product).where(where).limit(1)
    ).first()
    if row is None:
        return None
    units = row.units if row.units > 1 else None
    return _resolved(scan, "product", sku=row.sku, name=row.name, units=units)


def _resolved(scan: Scan, kind: str, **found: Any) -> Resolved:
    return Resolved(kind, scan.text, symbology=scan.symbology, gs1=scan.gs1, **found)


def _match_text(session: Session, scan: Scan, setup: ScannerSetup) -> Resolved | None:
    """An internal code: a location, a product's own code or SKU, an order, a badge, a tote."""
    text = scan.text
    if session.scalar(select(Location.id).where(Location.code == text)) is not None:
        return _resolved(scan, "location", location=text)
    product = _product(session, scan, Barcode.code == text)
    if product is not None:
        return product
    sku = session.execute(select(Product.sku, Product.name).where(Product.sku == text)).first()
    if sku is not None:
        return _resolved(scan, "product", sku=sku.sku, name=sku.name)
    if scan.kind == "order":
        order_id = numbered_code(setup.patterns["order"]).read(text)
        order = find_order(session, order_id) if order_id is not None else None
        if order is not None:
            return _resolved(scan, "order", order=OrderRef(order.id, order.status))
    elif scan.kind == "user":
        user = session.scalar(select(User).where(User.badge == text, User.active))
        if user is not None:
            return _resolved(scan, "user", user=UserRef(user.name, user.role))
    elif scan.kind in ("tote", "carton"):
        return _resolved(scan, scan.kind, **{scan.kind: text})
    return None


def match_scan(session: Session, scan: Scan, setup: ScannerSetup) -> Resolved:
    """What a read scan names in this warehouse; kind "unknown" when nothing."""
    found: Resolved | None = None
    if scan.gtin is not None:
        found = _product(session, scan, Barcode.code == scan.gtin)
    elif scan.kind not in ("sscc", "gs1"):
        found = _match_text(session, scan, setup)
    return found or _resolved(scan, "unknown")


def read_or_refuse(raw: str, setup: ScannerSetup) -> Scan:
    """read_scan, its refusal as a ScanRefused."""
    try:
        return read_scan(raw, setup)
    except ScanError as error:
        raise ScanRefused(error.code, error.message) from None


def read_and_match(session: Session, raw: str, setup: ScannerSetup) -> Resolved:
    """What a raw scan names; a scan the parser refuses is a ScanRefused."""
    return match_scan(session, read_or_refuse(raw, setup), setup)


def _replay(entry: ScanLog, context: ScanContext) -> Outcome[Logged]:
    owner = context.user.id if context.user else None
    if entry.user_id != owner:
        return Outcome(None, Conflict("This scan id was used by someone else.", field="scan_id"))
    if entry.source != context.source:
        # Its answer is of another kind (a flow's step, a resolved code, a photo).
        return Outcome(
            None, Conflict("This scan id was used for another kind of scan.", field="scan_id")
        )
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

    answer: Logged | None
    refused: WarehouseError | None
    ms: float

    def log_values(self) -> dict[str, Any]:
        if self.refused is not None:
            return {"accepted": False, "reason": self.refused.code,
                    "message": self.refused.message[:300], "ms": self.ms}  # fmt: skip
        assert self.answer is not None
        return {"accepted": True, "kind": self.answer.get("kind"), "result": self.answer,
                "ms": self.ms}  # fmt: skip


def attempt(act: Callable[[], Logged], session: Session | None = None) -> Attempt:
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


def _log(
    session: Session, raw: str, context: ScanContext, values: dict[str, Any]
) -> Outcome[Logged] | int:
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


def record_scan(
    session: Session, raw: str, context: ScanContext, act: Callable[[], Logged]
) -> Outcome[Logged]:
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
) -> Outcome[Resolved]:
    """Read a raw scan and say what it names; logged, refused or not, with one INSERT.

    `then_write` ends the reading and gives the session to log with, so that on SQLite the
    write lock is held for the log entry only.
    """
    check_scan_id(context.scan_id)
    found: list[Resolved] = []

    def resolve() -> Logged:
        found.append(read_and_match(session, raw, setup))
        return found[0].as_json()

    tried = attempt(resolve)
    logged = _log(then_write() if then_write else session, raw, context, tried.log_values())
    if isinstance(logged, Outcome):
        # A replay: answered as the scan was the first time.
        replayed = None if logged.answer is None else Resolved.from_json(logged.answer)
        return Outcome(replayed, logged.refused)
    return Outcome(found[0] if found else None, tried.refused)


def log_attempt(
    session: Session, raw: str, context: ScanContext, tried: Attempt
) -> Outcome[Logged]:
    """Log a scan whose work was done before the write transaction began (a photo decoded,
    a code read): the write lock is held for the log entry only. A scan id logged before is
    answered as then."""
    check_scan_id(context.scan_id)
    logged = _log(session, raw, context, tried.log_values())
    if isinstance(logged, Outcome):
        return logged
    return Outcome(tried.answer, tried.refused)
