"""The supervisor's events page: for each channel, where its events go, how many wait and
since when, which fail and why, which died; a channel's dead events replayed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from warehouse import event_backlog
from warehouse.errors import WarehouseError
from warehouse.pages.shared import page
from warehouse.web import db, requires, transaction, writes_late

bp = Blueprint("events", __name__)


def waited(seconds: int | None) -> str:
    """How long the oldest event has waited, in a supervisor's words."""
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _backlog_page(status: int = 200, **values: Any) -> tuple[str, int]:
    return page(
        "events.html", status, backlogs=event_backlog.every_backlog(db()), waited=waited, **values
    )


@bp.route("/events", methods=["GET", "POST"])
@requires("events.manage")
@writes_late
def backlog() -> tuple[str, int]:
    """Each channel's pushed events; POST replays a channel's dead events."""
    if request.method == "GET":
        return _backlog_page()
    code = request.form.get("channel", "")
    try:
        with transaction() as session:
            replayed = event_backlog.replay(session, code)
    except WarehouseError as refused:
        return _backlog_page(refused.status, error=refused.message)
    events = "1 dead event" if replayed == 1 else f"{replayed} dead events"
    return _backlog_page(outcome="good", notice=f"{events} of {code} sent again.")
