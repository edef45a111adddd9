"""The one role matrix: which role may do what. Every endpoint names one permission here;
docs/roles.md lists every endpoint and page with the roles that may call it
(`warehouse roles` writes it, and a test keeps it current).

Integrations are channel platforms: they keep the catalog, send orders and read back their
own channels' orders, feeds, events and shipments (a token bound to channels sees only
those). They book no stock and read no scans: receiving is done on the floor, and a scan may
name a person.
"""

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
    # The ledger names who moved what.
    "stock.ledger": PEOPLE,
    "stock.receive": LEADS | {"receiver"},
    "stock.count": LEADS | {"receiver"},
    # Pickers move units between pickable bins for sale only (a bin restocked from
    # another); these roles move them anywhere, into and out of quarantine too.
    "stock.move": LEADS | {"receiver", "picker"},
    "stock.move_anywhere": LEADS | {"receiver"},
    # A channel's settings: read by leads and its integrations (never its secret), shown to
    # leads on the channels page, and set by admins alone, since the events URL decides
    # where the channel's orders and customers' addresses are sent, and the fees the margins.
    "channels.read": LEADS | {"integration"},
    "channels.supervise": LEADS,
    "channels.write": frozenset({"admin"}),
    # A channel's available-to-sell feed and its events pulled by cursor.
    "channels.feed": LEADS | {"integration"},
    "orders.create": LEADS | {"integration"},
    # An integration token bound to channels reads and cancels only their orders.
    "orders.read": EVERYONE,
    "orders.cancel": LEADS | {"integration"},
    # Reading a scan or a photo of a barcode (a badge names a person); every scan is logged.
    # A scan from a pack station's scanner packs, so it needs packing.pack as well.
    "scan.resolve": PEOPLE,
    "scan.decode": PEOPLE,
    # The page that tests a scanner and suggests its settings.
    "scanners.setup": PEOPLE,
    # Pick lists: planned by leads, read by everyone, walked by pickers.
    "picking.plan": LEADS,
    "picking.read": PEOPLE,
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
    # What each channel's events URL was sent and what failed or died; dead events replayed.
    "events.manage": LEADS,
    # What each channel sells, earns and ships, and the floor's work in figures.
    "figures.read": LEADS,
    # People: who may sign in, lifting a login lockout, deactivating a user, and the
    # API tokens that work (revoked there).
    "people.supervise": LEADS,
}


def allowed(role: str, permission: str) -> bool:
    """True when the role holds the permission; an unknown permission is allowed to no one."""
    return role in PERMISSIONS.get(permission, frozenset())


# Rules finer than an endpoint's permission, listed under the table of docs/roles.md.
FINER_RULES = (
    "`POST /api/barcodes/resolve` with a `station`: a pack station's scanner packs, so the "
    "caller needs `packing.pack` as well (403 otherwise).",
    "`POST /api/stock/moves`: roles with `stock.move_anywhere` move stock between any two "
    "locations; the other roles with `stock.move` (pickers) only between pickable bins "
    "for sale, never into or out of quarantine, a place not sellable or other places "
    "outside the pick area (403 `not_a_pick_bin`).",
    "An integration token made with `--channel` serves only those channels: another "
    "channel's settings, orders, feed, events, order intake and shipments answer 404, as if "
    "they did not exist, and `GET /api/orders` lists only their own channels' orders. A token "
    "bound to no channel serves every channel.",
    "`POST /api/channels/{code}/webhook` needs no user: the channel signs each delivery.",
)
