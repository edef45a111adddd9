"""Bins held for picks: which bins a product's units are taken from, first expiry first out
where lots have dates, else in the fewest stops, and holding them for a pick list.

Units are held at a bin by a conditional UPDATE of stock.allocated (only while qty -
allocated covers them), so two lists never send pickers to the same units; the caller holds
the products' locks (`reservations.lock_products`), as every stock change does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from warehouse.db import rows_changed
from warehouse.models import Location, Pick, PickStatus, Stock


@dataclass(frozen=True)
class Held:
    stock: Stock
    qty: int


def _candidates(
    session: Session, product_id: int, avoid: int | None = None
) -> list[tuple[Stock, int]]:
    rows = session.execute(
        select(Stock, Stock.qty - Stock.allocated)
        .join(Stock.location)
        .where(
            Stock.product_id == product_id,
            Location.pickable.is_(True),
            # Units where they may not be sold (quarantine) are never picked for an order.
            Location.sellable.is_(True),
            Stock.qty > Stock.allocated,
            *(() if avoid is None else (Stock.location_id != avoid,)),
        )
        .options(selectinload(Stock.location))
    ).all()
    return [(stock, int(free)) for stock, free in rows]


def _preference(candidate: tuple[Stock, int], need: int) -> tuple[Any, ...]:
    """Bins in the order they are picked from: first expiry first out (undated last), then
    a bin that holds all that is needed, then the fullest, then by code."""
    stock, free = candidate
    return (stock.expiry is None, stock.expiry, free < need, -free, stock.location.code)


def _hold(session: Session, stock: Stock, qty: int) -> bool:
    """Hold units at a bin if they are still free there."""
    return (
        rows_changed(
            session,
            update(Stock)
            .where(Stock.id == stock.id, Stock.qty - Stock.allocated >= qty)
            .values(allocated=Stock.allocated + qty),
        )
        > 0
    )


def _allocate(
    session: Session, product_id: int, qty: int, avoid: int | None, hold: bool
) -> list[Held]:
    held: list[Held] = []
    need = qty
    candidates = _candidates(session, product_id, avoid)
    while need and candidates:
        candidates.sort(key=lambda candidate: _preference(candidate, need))
        stock, free = candidates.pop(0)
        take = min(free, need)
        # Another list may have held units here since they were read: then try the rest.
        if not hold or _hold(session, stock, take):
            held.append(Held(stock, take))
            need -= take
    return held


def allocate_bins(
    session: Session, product_id: int, qty: int, avoid: int | None = None
) -> list[Held]:
    """Hold qty units of a product at pickable bins for sale (but the location `avoid`): first
    expiry first out where lots have dates, else the fewest stops (a bin that holds them
    all, then the fullest). Returns what it could hold, which may be less than qty."""
    return _allocate(session, product_id, qty, avoid, hold=True)


def plan_bins(session: Session, product_id: int, qty: int) -> list[Held]:
    """The bins allocate_bins would hold now, holding nothing: what batching groups by."""
    return _allocate(session, product_id, qty, None, hold=False)


def release_bins(session: Session, picks: Sequence[Pick]) -> None:
    """Give back the units a list holds at bins and has not picked."""
    for pick in picks:
        left = pick.qty - pick.picked
        if left and pick.status == PickStatus.OPEN:
            session.execute(
                update(Stock)
                .where(Stock.id == pick.stock_id)
                .values(allocated=Stock.allocated - left)
            )
