"""The floor flows' pages (receive, count, look up, pick, pack, dock, returns): one page each,
drawn once with the person's place in the flow; after that its script (static/floor/) owns
the scanner and talks to /api/floor/<flow>, so a scan never waits for a page to load."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from warehouse.flows import FLOWS
from warehouse.flows.core import Flow, state_of
from warehouse.pages.panels import render_panel
from warehouse.pages.shared import signed_in
from warehouse.web import db, requires

bp = Blueprint("flows", __name__)

TITLES = {
    "receive": "Receive", "count": "Count", "lookup": "Look up", "pick": "Pick", "pack": "Pack",
    "dock": "Dock", "returns": "Returns",
}  # fmt: skip


def _page(flow: Flow) -> None:
    def show() -> str:
        user = signed_in()
        state = state_of(db(), user, flow.name)
        return render_template(
            "flow.html",
            flow=flow.name,
            title=TITLES[flow.name],
            panel=render_panel(flow.name, state, user),
            # A station's bookmark (/pack?station=pack1): the page sets it, as an event.
            station=request.args.get("station", "") if flow.name == "pack" else "",
            station_now=state.get("station") or "",
        )

    show.__doc__ = f"The {flow.name} flow's page."
    bp.route(f"/{flow.name}", endpoint=flow.name)(requires(flow.permission)(show))


for _flow in FLOWS.values():
    _page(_flow)
