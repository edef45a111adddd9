"""Counting a bin: the count a person scans item by item, the whole bin booked at once (what
was not found counts as 0), and the bins to count after short picks."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from warehouse.catalog import location_for_code
from warehouse.errors import InvalidInput
from warehouse.inventory import count
from warehouse.models import CountTask, Movement, Product, Stock, User
from warehouse.scanning import Resolved
from warehouse.stock import LocationContents


@dataclass
class CountLine:
    """A product (and lot) of the bin being counted; counted is None until it is."""

    sku: str
    lot: str
    name: str = ""
    counted: int | None = None


@dataclass
class BinCount:
    """A bin being counted: the products (and lots) it holds on the books, and any found."""

    location: str
    lines: list[CountLine] = field(default_factory=list)

    @classmethod
    def of(cls, contents: LocationContents) -> BinCount:
        """A count of a bin just begun: its products and lots, none counted yet."""
        lines = {
            (line.sku, line.lot): CountLine(line.sku, line.lot, line.name)
            for line in contents.lines
        }
        return cls(contents.location, list(lines.values()))

    @property
    def started(self) -> bool:
        return any(line.counted is not None for line in self.lines)

    def add(self, scanned: Resolved) -> CountLine:
        """Count a scanned product: its units go to its line (made if the bin had none)."""
        sku, lot = scanned.sku or "", scanned.gs1.lot if scanned.gs1 else None
        same = [line for line in self.lines if line.sku == sku and lot in (None, line.lot)]
        if len(same) > 1:
            raise InvalidInput(
                f"{sku} is here in several lots: scan the code that carries the lot, "
                "or type the counts."
            )
        if same:
            line = same[0]
        else:
            line = CountLine(sku, lot or "", scanned.name or "")
            self.lines.append(line)
        line.counted = (line.counted or 0) + scanned.units_scanned
        return line


def count_location(
    session: Session,
    user: User | None,
    location: str,
    counted: dict[tuple[str, str], int],
    reference: str = "",
    most: int | None = None,
) -> list[Movement]:
    """Book the count of a whole bin: each (SKU, lot) counted, and 0 for what it held but
    was not counted. Returns the adjustments (movements of a non-zero difference)."""
    bin_ = location_for_code(session, location)
    held = session.execute(
        select(Product.sku, Stock.lot).join(Stock.product).where(Stock.location_id == bin_.id)
    ).all()
    every = dict.fromkeys(sorted(set(counted) | {(sku, lot) for sku, lot in held}), 0)
    every.update(counted)
    booked = [
        count(session, user, sku, location, qty, lot=lot, reference=reference, most=most)
        for (sku, lot), qty in every.items()
    ]
    return [movement for movement in booked if movement.qty != 0]


def open_count_tasks(session: Session) -> list[CountTask]:
    """Bins to count after short picks, oldest first."""
    return list(
        session.scalars(
            select(CountTask)
            .where(CountTask.done_at.is_(None))
            .order_by(CountTask.id)
            .options(selectinload(CountTask.location), selectinload(CountTask.product))
        )
    )
