"""The one role matrix: which role may do what. Every endpoint names one permission here."""

from __future__ import annotations

from warehouse.models import ROLES

EVERYONE = frozenset(ROLES)
PEOPLE = EVERYONE - {"integration"}
LEADS = frozenset({"admin", "supervisor"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # Pages every signed-in person sees.
    "home": PEOPLE,
    "catalog.read": EVERYONE,
    "catalog.write": LEADS | {"integration"},
    "locations.write": LEADS,
    "stock.read": EVERYONE,
    "stock.receive": LEADS | {"receiver", "integration"},
    "stock.count": LEADS | {"receiver"},
    "stock.move": LEADS | {"receiver", "picker"},
    "channels.write": LEADS,
    "channels.feed": LEADS | {"integration"},
    "orders.create": LEADS | {"integration"},
    "orders.read": EVERYONE,
    "orders.cancel": LEADS | {"integration"},
    # Reading a scan or a photo of a barcode; every scan is logged.
    "scan.resolve": EVERYONE,
    "scan.decode": EVERYONE,
    # The page that tests a scanner and suggests its settings.
    "scanners.setup": PEOPLE,
    # Pick lists: planned by leads, read by everyone, walked by pickers.
    "picking.plan": LEADS,
    "picking.read": EVERYONE,
    "picking.pick": LEADS | {"picker"},
    # Packing at a station; a supervisor reopens a closed carton.
    "packing.pack": LEADS | {"packer"},
    "packing.supervise": LEADS,
    "shipments.read": LEADS | {"packer", "integration"},
    # A carrier's own label attached to a carton by an integration.
    "shipments.write": LEADS | {"integration"},
    # Cartons handed over at the dock (scanned back, or confirmed by a supervisor).
    "shipments.ship": LEADS | {"packer"},
    # An order shipped on a supervisor's word, without its labels scanned back.
    "shipments.confirm": LEADS,
    # Every print job's state, reprints, and sheets of bin, product and badge barcodes.
    "printing.supervise": LEADS,
    # Returned items scanned back against their order.
    "returns.receive": LEADS | {"receiver", "packer"},
    # The supervisor's order pages.
    "orders.supervise": LEADS,
    # Counts whose difference is too large for one person's count: approved or turned down;
    # a count by these roles is booked at once.
    "counts.approve": LEADS,
    # People: who may sign in, and lifting a login lockout.
    "people.supervise": LEADS,
}


def allowed(role: str, permission: str) -> bool:
    """True when the role holds the permission; an unknown permission is allowed to no one."""
    return role in PERMISSIONS.get(permission, frozenset())
