"""The HTML pages: the handhelds' floor flows (one page each, pages.flows, run by their script
in static/floor/) and the supervisors' desk pages, one module per room, each a blueprint
inside the one `pages` blueprint (endpoints `pages.<room>.<view>`).

Pages show stock and who is signed in, so a shared handheld must never show them from a
cache: every page is sent with Cache-Control: no-store.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from warehouse.pages import (
    channels,
    counts,
    events,
    figures,
    flows,
    home,
    orders,
    pack,
    people,
    pick,
    plan,
    printing,
    scanner_setup,
)
from warehouse.web import no_store

ROOMS = (
    home, flows, orders, plan, pick, pack, printing, events, people, counts, channels, figures,
    scanner_setup,
)  # fmt: skip


def register(app: Flask) -> None:
    """Attach every page to the app."""
    pages = Blueprint("pages", __name__, template_folder="templates")
    for room in ROOMS:
        pages.register_blueprint(room.bp)
    pages.after_request(no_store)
    app.register_blueprint(pages)
    # Compiled now, while the worker starts, so that no scan waits for its screen's template.
    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)
