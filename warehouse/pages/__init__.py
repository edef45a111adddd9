"""The HTML pages: the handhelds' floor flows and the supervisors' desk pages, one module per
room, each a blueprint inside the one `pages` blueprint (endpoints `pages.<room>.<view>`).

Pages show stock and who is signed in, so a shared handheld must never show them from a
cache: every page is sent with Cache-Control: no-store.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from warehouse.pages import (
    count,
    counts,
    dock,
    home,
    lookup,
    orders,
    pack,
    people,
    pick,
    printing,
    receive,
    returns,
    scanner_setup,
)
from warehouse.web import no_store

ROOMS = (
    home, orders, receive, count, lookup, pick, pack, dock, returns, printing, people, counts,
    scanner_setup,
)  # fmt: skip


def register(app: Flask) -> None:
    """Attach every page to the app."""
    pages = Blueprint("pages", __name__, template_folder="templates")
    for room in ROOMS:
        pages.register_blueprint(room.bp)
    pages.after_request(no_store)
    app.register_blueprint(pages)
