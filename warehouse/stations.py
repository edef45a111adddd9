"""Pack stations: the order on each bench, the bench's scale, and scans applied to the order.

A packer on a handheld scans into the page of the order; a station's USB scanner (through
the station agent) sends its scans with the station's name, and they go to the order on
that station's bench. Either way one function, `pack_scan`, decides what a scan does. The
station's page follows the bench's `version` to show what the agent's scans did.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from warehouse import packing, scanning
from warehouse.config import Config
from warehouse.db import insert_or_skip
from warehouse.errors import Conflict, InvalidInput, NotFound
from warehouse.models import Carton, Order, PackStation, PickListOrder, User, utcnow
from warehouse.scanning import Answer

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


def order_in(session: Session, answer: Answer) -> int | None:
    """The order a scanned order code or tote names (a tote holds the order picked into
    it; once it holds units it is also a stock location); None for anything else."""
    if answer["kind"] == "order":
        return int(answer["order"]["id"])
    tote = answer.get("tote") or answer.get("location")
    if tote is None:
        return None
    found = session.scalar(
        select(PickListOrder.order_id)
        .join(Order, Order.id == PickListOrder.order_id)
        .where(PickListOrder.tote == tote, Order.status == "picking")
        .order_by(PickListOrder.id.desc())
        .limit(1)
    )
    if found is None and answer["kind"] == "tote":
        raise NotFound(f"Tote {tote} holds no order to pack.", code="empty_tote")
    return None if found is None else int(found)


def open_carton_of(session: Session, order_id: int) -> Carton | None:
    """The order's open carton, if it has one."""
    return session.scalar(
        select(Carton).where(Carton.order_id == order_id, Carton.status == "open")
    )


def pack_scan(session: Session, order_id: int | None, answer: Answer) -> Answer:
    """What a scan at packing does: an order or a tote brings that order to the bench; an
    item goes into the open carton of the order on the bench (a case code counts its units)."""
    found = order_in(session, answer)
    if found is not None:
        packing.ready_to_pack(session, found)
        return {"kind": "pack", "step": "order", "order": found}
    if order_id is None:
        raise InvalidInput(
            f"{answer['code']} is not an order or a tote: scan the tote or the order.",
            field="code",
            code="not_an_order",
        )
    if answer["kind"] != "product":
        raise packing.WrongItem(
            f"{answer['code']} is not an item this warehouse knows: put it aside.",
            field="sku",
            code="wrong_item",
        )
    carton = open_carton_of(session, order_id)
    if carton is None:
        raise Conflict("Choose a box first.", code="no_open_carton")
    units = scanning.units_of(answer)
    packing.pack_item(session, carton.id, answer["sku"], units)
    return {"kind": "pack", "step": "item", "order": order_id, "carton": carton.number,
            "sku": answer["sku"], "units": units}  # fmt: skip


def printer_for(config: Config, station: str | None) -> str:
    """The printer of a station; on a handheld without one, the first browser printer."""
    if station is not None:
        if station not in config.stations:
            raise NotFound(
                f"No station is named {station!r} in config.toml.", code="unknown_station"
            )
        return config.stations[station].printer
    found = next((name for name, p in config.printers.items() if p.kind == "browser"), None)
    if found is None:
        raise Conflict(
            "No browser printer in config.toml: pack at a station with a label printer.",
            code="no_printer",
        )
    return found


def close_and_label(
    session: Session, carton_id: int, weight_g: int, config: Config, printer: str
) -> Carton:
    """Weigh and close a carton; when it was the order's last, the labels go to the printer."""
    carton = packing.close_carton(session, carton_id, weight_g, config.boxes, config.packing)
    if carton.status == "closed" and packing.order_is_packed(session, carton.order_id):
        packing.finish_packing(session, carton.order_id, config, printer)
    return carton


def scan_at_bench(
    session: Session, name: str, answer: Answer, config: Config, user: User | None
) -> Answer:
    """A scan from a station's own scanner, applied to the order on its bench."""
    station = bench(session, name, config)
    done = pack_scan(session, station.order_id, answer)
    if done["step"] == "order":
        put_on_bench(session, name, done["order"], user)
    return {**answer, "pack": done}


def said(done: Answer | None, refused: Exception | None) -> tuple[str, str]:
    """The sound and the words for what a pack scan did (`done`, from pack_scan)."""
    if refused is not None:
        return "bad", getattr(refused, "message", str(refused))
    done = done or {}
    if done.get("step") == "item":
        return "good", f"{done['units']} x {done['sku']} packed into carton {done['carton']}."
    return "good", f"Order {done.get('order')} is on the bench."
