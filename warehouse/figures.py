"""Figures of the floor's work, from the scan log: each picker's picks per hour and accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse.models import ScanLog, User


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
