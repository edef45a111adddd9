"""Figures of the floor's work: each picker's picks per hour and accuracy (from the scan
log), orders by channel and status, and the exceptions a supervisor acts on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse.counting import pending_reviews
from warehouse.models import (
    OPEN_ORDER_STATUSES,
    Carton,
    CartonStatus,
    Channel,
    CountReview,
    Order,
    OrderLine,
    Pick,
    PickStatus,
    PrintJob,
    ScanLog,
    User,
)
from warehouse.printing import not_printed


@dataclass(frozen=True)
class PickerFigures:
    """One picker's work since a time: stops confirmed, units, and how many scans were wrong."""

    name: str
    picks: int
    units: int
    scans: int
    wrong_scans: int
    picks_per_hour: float

    @property
    def accuracy(self) -> float:
        """Share of pick scans that were right (1.0 when there were none)."""
        return 1.0 - self.wrong_scans / self.scans if self.scans else 1.0


def picker_figures(session: Session, since: datetime) -> list[PickerFigures]:
    """Picks per hour and pick accuracy of each picker since a time, from the scan log."""
    rows = session.execute(
        select(User.name, ScanLog.at, ScanLog.accepted, ScanLog.result)
        .join(User, User.id == ScanLog.user_id)
        .where(ScanLog.source == "pick", ScanLog.at >= since)
        .order_by(User.name, ScanLog.at)
    ).all()
    by_name: dict[str, list[Any]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(row)
    figures = []
    for name, scans in by_name.items():
        confirmed = [s for s in scans if s.accepted and (s.result or {}).get("step") == "tote"]
        # Hours at work: from the first pick scan to the last, at least a minute.
        hours = max((scans[-1].at - scans[0].at).total_seconds(), 60.0) / 3600
        figures.append(
            PickerFigures(
                name=name,
                picks=len(confirmed),
                units=sum(int((s.result or {}).get("picked", 0)) for s in confirmed),
                scans=len(scans),
                wrong_scans=sum(1 for s in scans if not s.accepted),
                picks_per_hour=round(len(confirmed) / hours, 1),
            )
        )
    return figures


def order_counts(session: Session) -> dict[str, dict[str, int]]:
    """How many orders each channel has in each status."""
    counts: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Channel.code, Order.status, func.count())
        .join(Order.channel)
        .group_by(Channel.code, Order.status)
    )
    for channel, status, count in rows:
        counts.setdefault(channel, {})[str(status)] = count
    return counts


@dataclass(frozen=True)
class Exceptions:
    """What a supervisor acts on: units not found on a pick (their order waits or ships in
    parts), cartons held at the scale, labels that did not print, counts awaiting a decision."""

    short_picks: list[Pick]
    held_cartons: list[Carton]
    failed_jobs: list[PrintJob]
    count_reviews: list[CountReview]

    def __len__(self) -> int:
        return (
            len(self.short_picks) + len(self.held_cartons) + len(self.failed_jobs)
            + len(self.count_reviews)
        )  # fmt: skip


SHOWN = 50


def exceptions(session: Session) -> Exceptions:
    """The open exceptions of the floor, oldest first, at most SHOWN of each."""
    short = session.scalars(
        select(Pick)
        .join(Pick.order_line)
        .join(OrderLine.order)
        .where(Pick.status == PickStatus.SHORT, Order.status.in_(OPEN_ORDER_STATUSES))
        .order_by(Pick.id)
        .limit(SHOWN)
    ).all()
    held = session.scalars(
        select(Carton).where(Carton.status == CartonStatus.HELD).order_by(Carton.id).limit(SHOWN)
    ).all()
    failed = session.scalars(
        select(PrintJob).where(not_printed()).order_by(PrintJob.id).limit(SHOWN)
    ).all()
    return Exceptions(list(short), list(held), list(failed), pending_reviews(session)[:SHOWN])
