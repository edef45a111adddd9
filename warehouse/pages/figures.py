"""Which channels pay, for supervisors and admins: every channel's figures for a period
(today, this week, month, quarter, year, or chosen days) beside those of as many days just
before, and the same as a spreadsheet."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, request

from warehouse import channel_figures
from warehouse.limits import EARLIEST, LATEST
from warehouse.models import utcnow
from warehouse.pages.shared import page
from warehouse.web import db, requires

bp = Blueprint("figures", __name__)

PERIODS = (
    ("today", "Today"), ("week", "This week"), ("month", "This month"),
    ("quarter", "This quarter"), ("year", "This year"),
)  # fmt: skip


def _day(text: str | None) -> date | None:
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return None
    return day if EARLIEST <= day <= LATEST else None


def _chosen(today: date) -> tuple[str, date, date, str | None]:
    """The period asked for (this week when nothing is asked), and why not when it cannot
    be had."""
    kind = request.args.get("period", "week")
    if kind in channel_figures.PERIODS:
        return (kind, *channel_figures.period(kind, today), None)
    if kind != "range":
        return ("week", *channel_figures.period("week", today), f"No period is called {kind!r}.")
    first, last = _day(request.args.get("from")), _day(request.args.get("to"))
    if first is None or last is None or first > last:
        return (
            "week",
            *channel_figures.period("week", today),
            "Choose a first and a last day, the first on or before the last.",
        )
    return kind, first, last, None


@bp.route("/figures")
@requires("figures.read")
def channels() -> tuple[str, int]:
    """Every channel side by side for the chosen period, the period before beside it."""
    kind, first, last, error = _chosen(utcnow().date())
    before = channel_figures.previous(first, last)
    earlier = {f.channel: f for f in channel_figures.channel_figures(db(), *before)}
    now = channel_figures.channel_figures(db(), first, last)
    rows: list[dict[str, Any]] = [{"now": f, "before": earlier[f.channel]} for f in now]
    return page(
        "figures.html", 422 if error else 200, error=error, kind=kind, periods=PERIODS,
        first=first, last=last, before=before, rows=rows,
    )  # fmt: skip
