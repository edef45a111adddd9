"""Pack stations: the order on each bench, the bench's scale, the station's label printer,
and a carton closed there (its labels go to that printer when it is the order's last).

A packer on a handheld scans into the page of the order; a station's USB scanner (through
the station agent) sends its scans with the station's name, and they go to the order on
that station's bench. Either way one function, `packing.pack_scan`, decides what a scan does.
The station's page follows the bench's `version` to show what the agent's scans did.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from labels.printers import PrinterKind
from warehouse.config import Config
from warehouse.db import insert_or_skip
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.labelling import finish_packing
from warehouse.models import Carton, CartonStatus, PackStation, User, utcnow
from warehouse.packing import close_carton, order_is_packed, pack_scan
from warehouse.scanning import Logged, Resolved

# A scale reading older than this is not offered as the carton's weight.
SCALE_FRESH = timedelta(seconds=30)


def bench(session: Session, name: str, config: Config) -> PackStation:
    """The station's bench (made on first use); an unknown station is refused."""
    if name not in config.stations:
        raise NotFound(f"No station is named {name!r} in config.toml.", code="unknown_station")
    station = session.get(PackStation, name, populate_existing=True)
    if station is None:
        # Two first uses at once: one inserts, the other's insert is skipped.
        session.execute(
            insert_or_skip(session, PackStation, ["name"]),
            {"name": name, "outcome": "", "message": "", "version": 0},
        )
        station = session.get(PackStation, name, populate_existing=True)
    assert station is not None
    return station


def _bump(session: Session, name: str, **values: object) -> None:
    """Change a bench and tell its page (an UPDATE, so two scans never lose a version)."""
    session.execute(
        update(PackStation)
        .where(PackStation.name == name)
        .values(version=PackStation.version + 1, **values)
    )


def put_on_bench(session: Session, name: str, order_id: int | None, user: User | None) -> None:
    """The order the station is packing now (None: the bench is clear)."""
    _bump(session, name, order_id=order_id, user_id=user.id if user else None, outcome="")


def tell_bench(session: Session, name: str, outcome: str, message: str) -> None:
    """Record a scan's outcome for the station's page: its sound and its message."""
    _bump(session, name, outcome=outcome, message=message[:300])


def read_scale(session: Session, name: str, weight_g: int, config: Config) -> None:
    """Keep the station scale's latest stable reading."""
    if not 0 <= weight_g <= config.packing.max_carton_kg * 1000:
        raise InvalidInput(f"{weight_g} g is not a scale reading.", field="weight_g")
    bench(session, name, config)
    _bump(session, name, scale_g=weight_g, scale_at=utcnow())


def scale_weight(station: PackStation | None, now: datetime) -> int | None:
    """The scale's reading, when the scale spoke lately."""
    if station is None or station.scale_g is None or station.scale_at is None:
        return None
    return station.scale_g if now - station.scale_at <= SCALE_FRESH else None


def printer_for(config: Config, station: str | None) -> str:
    """The printer of a station; on a handheld without one, the first browser printer."""
    if station is not None:
        if station not in config.stations:
            raise NotFound(
                f"No station is named {station!r} in config.toml.", code="unknown_station"
            )
        return config.stations[station].printer
    found = next(
        (name for name, p in config.printers.items() if p.kind == PrinterKind.BROWSER), None
    )
    if found is None:
        raise Conflict(
            "No browser printer in config.toml: pack at a station with a label printer.",
            code="no_printer",
        )
    return found


def close_and_label(
    session: Session, carton_id: int, weight_g: int, config: Config, station: str | None
) -> Carton:
    """Weigh and close a carton; when it was the order's last, the labels go to the station's
    printer (see printer_for)."""
    carton = close_carton(session, carton_id, weight_g, config.boxes, config.packing)
    if carton.status == CartonStatus.CLOSED and order_is_packed(session, carton.order_id):
        finish_packing(session, carton.order_id, config, printer_for(config, station))
    return carton


def scan_at_bench(
    session: Session, name: str, scanned: Resolved, config: Config, user: User | None
) -> Logged:
    """A scan from a station's own scanner, applied to the order on its bench: what it names,
    and what it did there (`pack`)."""
    station = bench(session, name, config)
    done = pack_scan(session, station.order_id, scanned)
    if done["step"] == "order":
        put_on_bench(session, name, done["order"], user)
    return {**scanned.as_json(), "pack": done}


def said(done: Logged | None, refused: Exception | None) -> tuple[str, str]:
    """The sound and the words for what a pack scan did (`done`, from pack_scan)."""
    if refused is not None:
        return "bad", getattr(refused, "message", str(refused))
    done = done or {}
    if done.get("step") == "item":
        return "good", f"{done['units']} x {done['sku']} packed into carton {done['carton']}."
    return "good", f"Order {done.get('order')} is on the bench."
