"""Looking up: scan anything, and see what it is and, for a product or a bin, where the stock
is. Nothing changes but the scan log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse.config import Config
from warehouse.errors import NotFound
from warehouse.flows.core import Flow, State, Step, Values, unknown_action
from warehouse.models import User
from warehouse.scanning import Resolved
from warehouse.stock import LocationContents, ProductStock, look_up


def said(scanned: Resolved, found: ProductStock | LocationContents | None) -> str:
    """What a scan is, in one sentence."""
    if isinstance(found, ProductStock):
        summary = found.summary
        apart = f", {summary.unsellable} not for sale" if summary.unsellable else ""
        return (
            f"{summary.sku}, {found.name}: {summary.on_hand} on hand{apart}, "
            f"{summary.available} to sell."
        )
    if isinstance(found, LocationContents):
        sale = "" if found.sellable else " (not for sale)"
        return f"Bin {found.location}{sale}: {len(found.lines)} item(s)."
    if scanned.order is not None:
        return f"Order {scanned.order.id}: {scanned.order.status}."
    if scanned.user is not None:
        return f"The badge of {scanned.user.name}, a {scanned.user.role}."
    return f"{scanned.kind.capitalize()} {scanned.code}."


def on_scan(session: Session, user: User, state: State, scanned: Resolved, config: Config) -> Step:
    if scanned.kind == "unknown":
        raise NotFound(
            f"Nothing in this warehouse is known as {scanned.code}.", code="unknown_code"
        )
    found = look_up(session, scanned.label) if scanned.kind in ("product", "location") else None
    return Step({"last": scanned.as_json()}, said(scanned, found))


def on_action(
    session: Session, user: User, state: State, action: str, values: Values, config: Config
) -> Step:
    if action == "clear":
        return Step({}, "Scan anything to look it up.")
    raise unknown_action("Look up", action)


FLOW = Flow("lookup", "scan.resolve", on_scan, on_action)
